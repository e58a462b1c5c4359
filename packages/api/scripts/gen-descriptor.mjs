#!/usr/bin/env node
// Writes generated/envoy-descriptor.json: the Envoy types minimesh uses, parsed from the
// .proto files of the npm dependency and saved in protobufjs's JSON form, so that the
// programs load them without parsing .proto text (faster, and a smaller heap).
// Runs after `tsc -b` (it uses the compiled loader).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DESCRIPTOR_FILE, loadProtoFiles } from '../dist/src/protos.js';

const root = loadProtoFiles();
mkdirSync(path.dirname(DESCRIPTOR_FILE), { recursive: true });
writeFileSync(DESCRIPTOR_FILE, JSON.stringify(root.toJSON()));
