/**
 * Times the in-process coordinator's handling of each uploaded segment
 * (hash check, blob write, fsyncs: CheckpointService.storeSegment, from its
 * call to its promise settling, before the ack) by wrapping the prototype's
 * method, as
 * coordinator-main.ts wraps the group commit's: the coordinator's code runs
 * exactly as it is. A diagnostic of `upload_efficiency`.
 */
import { CheckpointService } from '../../server/checkpoints/checkpoint-service.ts';

export interface SegmentProbe {
  /** ms per stored segment, in order. */
  readonly samples: number[];
  /** Puts the original method back. */
  restore(): void;
}

export function probeSegmentStores(): SegmentProbe {
  const original = CheckpointService.prototype.storeSegment;
  const samples: number[] = [];
  CheckpointService.prototype.storeSegment = async function (this: CheckpointService, ...args: Parameters<CheckpointService['storeSegment']>): Promise<void> {
    const start = performance.now();
    try {
      await original.apply(this, args);
    } finally {
      samples.push(performance.now() - start);
    }
  };
  return { samples, restore: () => void (CheckpointService.prototype.storeSegment = original) };
}
