/**
 * Amazon SES as the smart host. The message streams from the mailbag into one SES request
 * (ses-request.ts: read twice, hashed, signed, sent with its exact length), so the function's
 * memory does not grow with the message: SES's largest messages fit a 128 MB function
 * (docs/benchmarks.md, "SES smart host memory").
 *
 * API: the v2 API's SendEmail with raw content by default (40 MB after base64), the v1 API's
 * SendRawEmail (10 MB) with `smartHost.ses.api: "v1"` — what LocalStack's community edition
 * emulates. Both are authorized as `ses:SendRawEmail` on the sending identity
 * (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html). A message over the
 * API's limit is refused for good (nextHopTooLarge, bounced) before anything is sent.
 *
 * SES's replies map onto the catalogue (core/errors.ts): a refusal of the message (4xx such as
 * MessageRejected, MailFromDomainNotVerified) fails its recipients for good and bounces; a
 * throttle, a paused account, an authorization fault of our own deployment and any 5xx or lost
 * connection are "try again" (BackendUnavailableError): the line waits with capped backoff and
 * the queue lifetime still ends it (docs/delivery.md).
 */
import type { Readable } from "node:stream";
import { SESClient } from "@aws-sdk/client-ses";
import { isAscii } from "../../core/dsn.ts";
import {
  BackendUnavailableError,
  nextHopLacksSmtputf8,
  nextHopTooLarge,
  okReply,
  smartHostRefused,
} from "../../core/errors.ts";
import type { SmartHostTransport } from "../../core/ports.ts";
import { type AwsSettings, clientOptions } from "./aws.ts";
import {
  base64Length,
  SES_MAX_ENCODED_BYTES,
  type SesAnswer,
  type SesApi,
  sendThroughSes,
  sesFrame,
} from "./ses-request.ts";

/**
 * SES error codes that say "not now" rather than "not this message": throttling and quotas
 * (v1 `Throttling`, v2 `TooManyRequestsException`), sending paused or suspended, and the credential and
 * authorization faults of our own deployment, which a bounce would only hide.
 */
const TRANSIENT_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "LimitExceededException",
  "SendingPausedException",
  "AccountSendingPausedException",
  "ConfigurationSetSendingPausedException",
  "AccountSuspendedException",
  "ServiceUnavailable",
  "InternalFailure",
  "RequestTimeout",
  "RequestExpired",
  "AccessDenied",
  "AccessDeniedException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "MissingAuthenticationToken",
  "ExpiredToken",
  "ExpiredTokenException",
]);

export interface SesOptions {
  readonly configurationSet?: string | undefined;
  readonly api?: SesApi;
  /** Only for `npm run bench:memory` and tests: another limit (after base64) than SES's. */
  readonly encodedLimit?: number;
}

export function sesTransport(settings: AwsSettings, options: SesOptions = {}): SmartHostTransport {
  const api = options.api ?? "v2";
  const limit = options.encodedLimit ?? SES_MAX_ENCODED_BYTES[api];
  const ses = new SESClient({
    ...clientOptions(settings),
    // socketTimeout: idle time, not total time: a 40 MB upload may take a while, a stalled one
    // must not hold the function until its own timeout.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
  });
  const tooLarge = (bytes: number) =>
    nextHopTooLarge(
      `Message too large for Amazon SES: ${bytes} bytes are ${base64Length(bytes)} after base64, ` +
        `the SES ${api} API takes at most ${limit} (https://docs.aws.amazon.com/ses/latest/dg/quotas.html)`,
    );
  return {
    async send(from, to, body, size, sendOptions) {
      const reopen = sendOptions?.reopen;
      // SES has no SMTPUTF8: envelope addresses must be ASCII (the Source parameter's
      // description in https://docs.aws.amazon.com/ses/latest/APIReference/API_SendRawEmail.html),
      // so such a message bounces 5.6.7 as with an SMTP hop that lacks it.
      const needsUtf8 =
        sendOptions?.params?.SMTPUTF8 !== undefined || [from, ...to].some((a) => !isAscii(a));
      if (base64Length(size) > limit || !reopen || needsUtf8) {
        body.destroy();
        if (!reopen) throw new Error("the SES transport reads the message twice: pass reopen");
        throw needsUtf8 ? nextHopLacksSmtputf8() : tooLarge(size);
      }
      let answer: SesAnswer;
      try {
        answer = await sendThroughSes(
          ses,
          sesFrame(api, { from, to, configurationSet: options.configurationSet }),
          body as Readable,
          reopen,
          limit,
          tooLarge,
        );
      } catch (err) {
        if ((err as { code?: string }).code === "smart-host-reply") throw err;
        const e = err as Error;
        throw new BackendUnavailableError(`SES unavailable: ${e.name}: ${e.message}`, {
          cause: err,
        });
      }
      if (answer.ok)
        return {
          accepted: [...to],
          refused: [],
          reply: okReply(`Ok: SES message id ${answer.messageId}`),
          remoteMta: answer.host,
          // SES takes no DSN parameters: NOTIFY=SUCCESS gets a "relayed" report from us.
          dsn: false,
        };
      const reason = `SES ${answer.code}: ${answer.message}`;
      if (answer.status === 413) throw tooLarge(size);
      if (answer.status >= 500 || answer.status === 429 || TRANSIENT_CODES.has(answer.code))
        throw new BackendUnavailableError(`${reason} (HTTP ${answer.status})`);
      throw smartHostRefused(reason);
    },
  };
}
