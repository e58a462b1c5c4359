#!/usr/bin/env node
// Prints a JWT for the walkthrough's step 5: issuer https://auth.minimesh.example, subject the
// first argument (default alice), valid for an hour, signed RS256 with demo-key.json, whose
// public part is the key set in policies/require-jwt.yaml. A demo key: never trust it elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importJWK, SignJWT } from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));
const jwk = JSON.parse(fs.readFileSync(path.join(here, 'demo-key.json'), 'utf8'));
const subject = process.argv[2] ?? 'alice';
const key = await importJWK(jwk, 'RS256');
const token = await new SignJWT({ scope: 'echo.read' })
  .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
  .setIssuer('https://auth.minimesh.example')
  .setSubject(subject)
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(key);
console.log(token);
