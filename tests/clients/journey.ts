// What a TypeScript integrator writes against the types openapi-typescript generates from
// docs/openapi.yaml (infra/clients.sh puts this file beside the generated ward.d.ts and compiles
// it with tsc --strict). It fails to compile when the document stops saying what it says today:
// SignIn's two answers told apart by `status`, each refusal's codes, the 429's wait.
import type { components, paths } from "./ward";

type Schemas = components["schemas"];
type SignInAnswer = paths["/v1/sign-in"]["post"]["responses"]["200"]["content"]["application/json"];
type Throttled = paths["/v1/sign-in"]["post"]["responses"]["429"];
type Refused = paths["/v1/sign-in/verify"]["post"]["responses"]["401"]["content"]["application/json"];

/** The session, or the mfa_token Verify2FACode wants: the compiler narrows on `status`. */
export function nextStep(answer: SignInAnswer): { session?: string; mfaToken?: string; seconds: number } {
  switch (answer.status) {
    case "signed_in":
      return { session: answer.session_token, seconds: answer.expires_in };
    case "two_factor_required":
      return { mfaToken: answer.mfa_token, seconds: answer.expires_in };
  }
}

/** Whether Verify2FACode's refusal means starting again at SignIn. */
export function restartAtSignIn(refused: Refused): boolean {
  const code: "invalid_code" | "mfa_token_invalid" = refused.error;
  return code === "mfa_token_invalid";
}

/** How long a throttled client waits: the 429 carries Retry-After. */
export function waitSeconds(headers: Throttled["headers"]): number {
  return headers["Retry-After"];
}

export const verifyWithCode: Schemas["VerifyWithCode"] = { mfa_token: "ward_m_...", code: "123456" };
export const unexpected: Schemas["Error"]["error"][] = ["method_not_allowed", "internal_error"];
