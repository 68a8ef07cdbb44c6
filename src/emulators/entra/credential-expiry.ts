// Client-secret expiry at the emulator's token endpoint: a registered client whose secret
// has passed its end date is refused the way Entra refuses it, AADSTS7000222 with
// invalid_client (Microsoft's error-code reference, learn.microsoft.com/entra/
// identity-platform/reference-error-codes; the wording as quoted in public troubleshooting
// write-ups, e.g. aztokenwatch.com/blog/fix-aadsts7000222-client-secret-expired).
// Kept apart from server.ts so the token handler only gains one call.

export interface ExpiringClient {
  clientId: string;
  /** When the client's secret stops working (ISO instant); absent = never. */
  secretEndDateTime?: string;
}

export interface TokenRefusal {
  status: number;
  error: string;
  code: number;
  description: string;
}

/** The refusal for a client whose secret expired before `now`, else null. */
export function expiredSecretRefusal(client: ExpiringClient, now: number): TokenRefusal | null {
  if (!client.secretEndDateTime) return null;
  const end = Date.parse(client.secretEndDateTime);
  if (Number.isNaN(end) || end > now) return null;
  return {
    status: 401,
    error: 'invalid_client',
    code: 7000222,
    description: `The provided client secret keys for app '${client.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  };
}
