/**
 * One way to take an inbound socket event: validate the payload, run the
 * handler, and answer through the ack (if the client gave one) once the
 * handler's writes are durable. A bad payload or a failed handler gets an
 * error reply (or a `protocol:error` event when there is no ack), never a crash.
 */
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { GridError, serializeError } from '../../shared/errors.ts';
import type { SerializedError } from '../../shared/errors.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import type { Reply } from '../../shared/volunteer-protocol.ts';
import { logger } from '../logger.ts';
import { refuseMisplacedBinary } from './misplaced-binary.ts';

const log = logger('realtime');

type AnyAck = (reply: Reply<unknown>) => void;

export type AfterCommit = (then: () => void) => void;

function publicError(error: unknown, event: string): SerializedError {
  if (error instanceof GridError) return serializeError(error);
  log.error(`handling ${event} failed`, error);
  return { name: 'InternalError', message: `the coordinator failed to handle ${event}` };
}

export function handleEvent<S extends z.ZodType>(
  socket: Socket,
  event: string,
  schema: S,
  afterCommit: AfterCommit,
  handler: (payload: z.infer<S>) => unknown,
  /**
   * Answer only once the handler's writes are durable. False for an event that writes nothing (a
   * heartbeat): its answer then does not wait for the fsync of other events' writes. @default true
   */
  answerAfterCommit = true,
): void {
  socket.on(event, (...args: unknown[]) => {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as AnyAck) : undefined;
    try {
      refuseMisplacedBinary(args[0], event);
      const value = handler(parseOrThrow(schema, args[0], event));
      const answer = () => ack?.({ ok: true, value: value ?? null });
      if (answerAfterCommit) afterCommit(answer);
      else answer();
    } catch (error) {
      const serialized = publicError(error, event);
      if (ack) ack({ ok: false, error: serialized });
      else socket.emit('protocol:error', { event, error: serialized });
    }
  });
}
