/** Request/response over the volunteer socket: an ack with a timeout, the error rethrown by name. */
import { deserializeError } from '../../shared/errors.ts';
import { ACK_TIMEOUT_MS } from '../../shared/limits.ts';
import type { Reply, RequestPayload, RequestReply, VolunteerRequest } from '../../shared/volunteer-protocol.ts';
import type { VolunteerSocket } from './connection.ts';

interface UntypedAcks {
  emitWithAck(event: string, payload: unknown): Promise<unknown>;
}

export async function request<E extends VolunteerRequest>(
  socket: VolunteerSocket,
  event: E,
  payload: RequestPayload<E>,
): Promise<RequestReply<E>> {
  // socket.io's typed timeout() wants the ack as (err, reply); ours is (reply), so the call is untyped here only.
  const reply = (await (socket.timeout(ACK_TIMEOUT_MS) as unknown as UntypedAcks).emitWithAck(event, payload)) as Reply<
    RequestReply<E>
  >;
  if (reply.ok) return reply.value;
  throw deserializeError(reply.error);
}
