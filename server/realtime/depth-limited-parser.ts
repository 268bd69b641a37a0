/**
 * socket.io's own packet parser, refusing text packets nested deeper than
 * MAX_JSON_DEPTH before JSON.parse sees them (json-depth.ts says why). A
 * refused packet is a protocol violation like any malformed one: socket.io
 * closes that connection ("parse error"), and only that one.
 */
import { Decoder, Encoder } from 'socket.io-parser';
import { MAX_JSON_DEPTH } from '../../shared/limits.ts';
import { nestsDeeperThan } from '../http/json-depth.ts';

class DepthLimitedDecoder extends Decoder {
  override add(packet: unknown): void {
    if (typeof packet === 'string' && nestsDeeperThan(packet, MAX_JSON_DEPTH)) {
      throw new Error(`invalid payload: nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    super.add(packet);
  }
}

/** The `parser` option of socket.io's Server. */
export const depthLimitedParser = { Encoder, Decoder: DepthLimitedDecoder };
