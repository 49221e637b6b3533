import { fromCallback, setup } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine';
import { supervisorMachine } from '../../machines/supervisor.machine';
import { describeMachine, type StateTree } from '../../src/inspect/machine-tree';

/** A machine with every construct the page draws: parallel regions, named and numeric delays, guards, an invoke, root transitions. */
const fixture = setup({
  actors: { socket: fromCallback(() => undefined) },
  guards: { isSlow: () => true },
  delays: { heartbeatInterval: 1_000 },
}).createMachine({
  id: 'conn',
  initial: 'connecting',
  on: { 'socket.closed': '.closed' },
  states: {
    connecting: { on: { 'socket.open': 'open', PING: { actions: () => undefined } } },
    open: {
      type: 'parallel',
      invoke: { id: 'socket', src: 'socket', onError: { target: 'closing' } },
      states: {
        heartbeat: {
          initial: 'idle',
          states: { idle: { after: { heartbeatInterval: 'awaitingPong' } }, awaitingPong: { on: { pong: 'idle' } } },
        },
        flow: { initial: 'flowing', states: { flowing: {}, congested: {} } },
      },
    },
    closing: { after: { 500: [{ guard: 'isSlow', target: 'closed' }, { target: 'closed' }] } },
    closed: { type: 'final' },
  },
});

function paths(tree: StateTree): string[] {
  return [tree.path, ...tree.states.flatMap(paths)];
}

describe('describeMachine', () => {
  it('describes the state tree with paths, types and initial states', () => {
    const tree = describeMachine(fixture);

    expect(tree).toMatchObject({ key: 'conn', path: '', type: 'compound', initial: 'connecting' });
    expect(tree.states.map((s) => [s.path, s.type])).toEqual([
      ['connecting', 'atomic'],
      ['open', 'parallel'],
      ['closing', 'atomic'],
      ['closed', 'final'],
    ]);
    const [heartbeat, flow] = tree.states[1].states;
    expect(heartbeat).toMatchObject({ path: 'open.heartbeat', type: 'compound', initial: 'idle' });
    expect(heartbeat.states.map((s) => s.path)).toEqual(['open.heartbeat.idle', 'open.heartbeat.awaitingPong']);
    expect(flow.initial).toBe('flowing');
  });

  it('labels transitions by event, named or numeric delay, guard and actor, with target paths; targetless ones too', () => {
    const tree = describeMachine(fixture);
    const [connecting, open, closing] = tree.states;

    expect(tree.transitions).toEqual([{ label: 'socket.closed', targets: ['closed'] }]);
    expect(connecting.transitions).toEqual([
      { label: 'socket.open', targets: ['open'] },
      { label: 'PING', targets: [] },
    ]);
    expect(open.transitions).toEqual([{ label: 'error: socket', targets: ['closing'] }]);
    expect(open.states[0].states[0].transitions).toEqual([{ label: 'after heartbeatInterval', targets: ['open.heartbeat.awaitingPong'] }]);
    expect(closing.transitions).toEqual([
      { label: 'after 500ms [isSlow]', targets: ['closed'] },
      { label: 'after 500ms', targets: ['closed'] },
    ]);
  });

  it('describes every state of statewire’s own machines', () => {
    for (const machine of [connectionMachine, supervisorMachine]) {
      const tree = describeMachine(machine);
      const expected: string[] = [];
      const visit = (node: { path: string[]; states: Record<string, unknown> }): void => {
        expected.push(node.path.join('.'));
        for (const child of Object.values(node.states)) visit(child as typeof node);
      };
      visit(machine.root);

      expect(paths(tree)).toEqual(expected);
      expect(JSON.parse(JSON.stringify(tree))).toEqual(tree);
    }
  });
});
