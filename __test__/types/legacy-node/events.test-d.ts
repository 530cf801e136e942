// Type test for index.d.ts with an @types/node whose EventEmitter is not
// generic (see node-stub.d.ts): checked by `tsc -p tsconfig.legacy-node.json`,
// never run. Every `@ts-expect-error` line must fail to type-check.

import { EventEmitter } from 'node:events';
import { createSynchronikManager, type SynchronikManager, type UpdatedEvent } from 'synchronik';

function expectType<T>(_value: T): void {}

const manager: SynchronikManager = createSynchronikManager();

// Listener methods are typed per event name.
manager.on('complete', (e) => expectType<number>(e.durationMs));
manager.once('updated', (e: UpdatedEvent) => void e.payload.reason);
manager.on('retry', (e) => expectType<number>(e.attempt)).on('task', (e) => expectType<string>(e.pool));
manager.off('complete', () => {});
expectType<number>(manager.listenerCount('milestone'));
expectType<boolean>(manager.emit('start', { type: 'start', unitId: 'w' }));
// @ts-expect-error no such event
manager.on('finished', () => {});
// @ts-expect-error no such event
manager.once('done', () => {});
// @ts-expect-error a start event has no result
manager.on('start', (e) => e.result);
// @ts-expect-error emit checks the event it is given
manager.emit('complete', { type: 'start', unitId: 'w' });

// Still an EventEmitter.
const emitter: EventEmitter = manager;
void emitter;

// The clock as with any @types/node.
void createSynchronikManager({ clock: 'manual' }).clock.advance(1);
// @ts-expect-error a system-clock manager has no clock
void createSynchronikManager().clock;
