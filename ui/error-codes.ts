/** The codes of the web server's own refusals (docs/errors.md; `framework/errors/codes.ts` has the rest). */
export const UI_ERROR_CODES = {
  NOT_FOUND: 'The page, run or resource the request names does not exist (404).',
  CONFLICT: "The request conflicts with the resource's state, e.g. canceling a finished run (409).",
  UNAUTHORIZED: "A state-changing request without the UI token: send 'Authorization: Bearer <token>' (401).",
  FORBIDDEN: 'A state-changing request from another origin (403).',
  HOST_NOT_ALLOWED: "The request's Host is not one this server answers for (421): see FAIRWAY_UI_ALLOWED_HOSTS.",
  BODY_TOO_LARGE: 'The request body is over the limit (413).',
} as const satisfies Record<string, string>;

declare module '../framework/errors/index.ts' {
  interface ErrorCodes extends Record<keyof typeof UI_ERROR_CODES, string> {}
}
