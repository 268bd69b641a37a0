/** The `/volunteer` namespace: each event validated, then handed to the scheduler. */
import type { Namespace } from 'socket.io';
import { z } from 'zod';
import {
  checkpointReportSchema,
  failSchema,
  finishSchema,
  haltedSchema,
  heartbeatSchema,
  helloSchema,
  manifestUploadSchema,
  outputSchema,
  progressSchema,
  rankSendSchema,
  rankStatsSchema,
  releaseSchema,
  resumedSchema,
  roundEnterSchema,
  segmentFetchSchema,
  segmentsMissingSchema,
  segmentUploadSchema,
  slotsSchema,
} from '../../shared/volunteer-protocol.ts';
import type { ServerToVolunteer, VolunteerToServer } from '../../shared/volunteer-protocol.ts';
import { logger } from '../logger.ts';
import type { CheckpointService } from '../checkpoints/checkpoint-service.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { gateEvents } from './event-gate.ts';
import { handleEvent } from './handle-event.ts';
import type { AfterCommit } from './handle-event.ts';
import { SocketLink } from './socket-link.ts';

const log = logger('volunteers');

export function bindVolunteerNamespace(
  namespace: Namespace<VolunteerToServer, ServerToVolunteer>,
  scheduler: Scheduler,
  checkpoints: CheckpointService,
  afterCommit: AfterCommit,
  /** Inbound events a second per connection. @default MAX_EVENTS_PER_SECOND */
  eventsPerSecond?: number,
): void {
  namespace.on('connection', (socket) => {
    // Rate and event names are checked before any handler (event-gate.ts): a task-scoped handler then checks the lease.
    gateEvents(socket, { known: KNOWN_EVENTS, eventsPerSecond });
    const link = new SocketLink(socket);
    const on = <S extends z.ZodType>(event: string, schema: S, handler: (payload: z.infer<S>) => unknown) =>
      handleEvent(socket, event, schema, afterCommit, handler);

    on('hello', helloSchema, (hello) => {
      log.info(`volunteer ${hello.volunteerId} (${hello.name || 'unnamed'}) connected with ${hello.slots} slots`);
      return scheduler.connect(hello, link);
    });
    on('slots', slotsSchema, ({ slots }) => scheduler.setSlots(link, slots));
    // Renewing leases writes nothing (they live in memory), so its answer need not wait for a commit: at 5,000 volunteers it otherwise waits behind every fsync.
    handleEvent(socket, 'heartbeat', heartbeatSchema, afterCommit, ({ leases }) => ({ lost: scheduler.heartbeat(link, leases) }), false);
    on('task:progress', progressSchema, (p) => scheduler.progress(link, p.taskId, p.lease, p.progress));
    on('task:output', outputSchema, (p) => scheduler.output(link, p.taskId, p.lease, p.stream, p.data));
    on('task:finish', finishSchema, (p) =>
      scheduler.finish(link, p.taskId, p.lease, {
        state: p.exitCode === 0 ? 'completed' : 'failed',
        exitCode: p.exitCode,
        ...(p.result !== undefined ? { result: p.result } : {}),
      }),
    );
    on('task:fail', failSchema, (p) =>
      scheduler.finish(link, p.taskId, p.lease, { state: 'failed', error: `${p.error.name}: ${p.error.message}` }),
    );
    on('task:release', releaseSchema, (p) => scheduler.release(link, p.taskId, p.lease));
    on('task:checkpoint', checkpointReportSchema, ({ taskId, lease, ...checkpoint }) =>
      scheduler.localCheckpoint(link, taskId, lease, checkpoint),
    );
    on('checkpoint:missing', segmentsMissingSchema, (p) => ({ missing: checkpoints.missing(link, p.taskId, p.lease, p.hashes) }));
    on('checkpoint:segment', segmentUploadSchema, (p) => checkpoints.storeSegment(link, p.taskId, p.lease, p.hash, p.data));
    on('checkpoint:manifest', manifestUploadSchema, (p) => checkpoints.storeManifest(link, p.taskId, p.lease, p.manifest));
    on('checkpoint:fetch', segmentFetchSchema, (p) => checkpoints.fetchSegment(link, p.taskId, p.lease, p.hash));
    on('task:halted', haltedSchema, (p) => scheduler.halted(link, p.taskId, p.lease, p.seq));
    on('task:resumed', resumedSchema, (p) => scheduler.resumed(link, p.taskId, p.lease, p.seq, p.from));
    on('rank:send', rankSendSchema, (p) => scheduler.relay(link, p.taskId, p.lease, p.to, p.data));
    on('round:enter', roundEnterSchema, (p) => scheduler.enterRound(link, p.taskId, p.lease, p.round, p.seq));
    on('rank:stats', rankStatsSchema, ({ taskId, lease, ...delta }) => scheduler.rankStats(link, taskId, lease, delta));
    on('leaving', z.undefined(), () => scheduler.leaving(link));
    socket.on('disconnect', (reason) => scheduler.disconnect(link, `disconnected (${reason})`));
  });
}

/**
 * Every event a volunteer may send; any other name is refused by the event gate.
 * Keyed by VolunteerToServer, so an event added to the protocol fails to compile until it is listed here.
 */
const VOLUNTEER_EVENTS: Record<keyof VolunteerToServer, true> = {
  hello: true,
  slots: true,
  heartbeat: true,
  'task:progress': true,
  'task:output': true,
  'task:finish': true,
  'task:fail': true,
  'task:release': true,
  'task:checkpoint': true,
  'checkpoint:missing': true,
  'checkpoint:segment': true,
  'checkpoint:manifest': true,
  'checkpoint:fetch': true,
  'task:halted': true,
  'task:resumed': true,
  'rank:send': true,
  'round:enter': true,
  'rank:stats': true,
  leaving: true,
};
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(Object.keys(VOLUNTEER_EVENTS));
