/** The logging the xDS library needs; a pino logger fits. Silent by default. */
export interface XdsLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const SILENT_LOGGER: XdsLogger = { debug: noop, info: noop, warn: noop };
