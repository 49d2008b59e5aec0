/** The codes of the native local stack (docs/errors.md; `framework/errors/codes.ts` has the framework's). */
export const STACK_ERROR_CODES = {
  STACK_CONFIG_INVALID:
    "The local stack's settings (ports, credentials, services) are not valid; the message names the one.",
  STACK_INSTALL_FAILED: 'Installing a stack server (download, checksum, unpack) failed; the message says which step.',
  STACK_JAVA_MISSING: 'No Java the stack servers can run on (Trino needs 24+, Iceberg REST 17+): install a JDK.',
  STACK_SERVICE_FAILED: 'A stack server did not start or become healthy; its log path is in the message.',
} as const satisfies Record<string, string>;

declare module '../framework/errors/index.ts' {
  interface ErrorCodes extends Record<keyof typeof STACK_ERROR_CODES, string> {}
}
