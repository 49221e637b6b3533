import { and, fromPromise, not, setup } from 'xstate';
import { toMermaid } from '../../src/diagram/mermaid';

/** Joins expected diagram lines the way toMermaid does (trailing newline). */
const diagram = (...lines: string[]): string => `${lines.join('\n')}\n`;

describe('toMermaid', () => {
  it('draws nested compound states with their own initial and final states', () => {
    const machine = setup({}).createMachine({
      id: 'door',
      initial: 'closed',
      states: {
        closed: { on: { OPEN: 'opened' } },
        opened: {
          initial: 'swinging',
          states: { swinging: { on: { STOP: 'still' } }, still: { type: 'final' } },
          onDone: 'closed',
        },
        broken: { type: 'final' },
      },
    });

    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> closed',
        '  closed',
        '  state opened {',
        '    [*] --> opened_swinging',
        '    state "swinging" as opened_swinging',
        '    state "still" as opened_still',
        '    opened_swinging --> opened_still : STOP',
        '    opened_still --> [*]',
        '  }',
        '  broken',
        '  closed --> opened : OPEN',
        '  opened --> closed : done',
        '  broken --> [*]',
      ),
    );
  });

  it('draws parallel regions separated by -- and cross-region edges at top level', () => {
    const machine = setup({}).createMachine({
      id: 'player',
      initial: 'off',
      states: {
        off: { on: { POWER: 'on' } },
        on: {
          type: 'parallel',
          states: {
            audio: {
              initial: 'muted',
              states: { muted: { on: { UNMUTE: 'loud' } }, loud: { on: { MUTE: 'muted' } } },
            },
            video: {
              initial: 'paused',
              states: {
                paused: { on: { PLAY: 'playing' } },
                playing: { on: { STOP: '#player.on.audio.muted' } },
              },
            },
          },
        },
      },
    });

    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> off',
        '  off',
        '  state on {',
        '    state "audio" as on_audio',
        '    state on_audio {',
        '      [*] --> on_audio_muted',
        '      state "muted" as on_audio_muted',
        '      state "loud" as on_audio_loud',
        '      on_audio_muted --> on_audio_loud : UNMUTE',
        '      on_audio_loud --> on_audio_muted : MUTE',
        '    }',
        '    --',
        '    state "video" as on_video',
        '    state on_video {',
        '      [*] --> on_video_paused',
        '      state "paused" as on_video_paused',
        '      state "playing" as on_video_playing',
        '      on_video_paused --> on_video_playing : PLAY',
        '    }',
        '  }',
        '  off --> on : POWER',
        '  on_video_playing --> on_audio_muted : STOP',
      ),
    );
  });

  it('draws guarded, delayed, wildcard and always transitions with their labels', () => {
    const machine = setup({
      guards: { canRetry: () => true, isOnline: () => true },
      delays: { heartbeatInterval: 1000 },
    }).createMachine({
      id: 'conn',
      initial: 'idle',
      states: {
        idle: {
          on: {
            CONNECT: { target: 'connecting', guard: 'canRetry' },
            PING: { target: 'idle', reenter: true },
            LOG: { actions: () => undefined },
            '*': 'idle',
          },
        },
        connecting: {
          after: {
            heartbeatInterval: 'checking',
            500: { target: 'idle', guard: { type: 'canRetry' } },
          },
        },
        checking: {
          always: [
            { target: 'connecting', guard: and(['isOnline', not('canRetry')]) },
            { target: 'idle', guard: () => false },
            { target: 'idle' },
          ],
        },
      },
    });

    // Numeric `after` keys come first: JavaScript orders integer-like object keys before the others.
    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> idle',
        '  idle',
        '  connecting',
        '  checking',
        '  idle --> connecting : CONNECT [canRetry]',
        '  idle --> idle : PING',
        '  idle --> idle : LOG / action',
        '  idle --> idle : *',
        '  connecting --> idle : after 500ms [canRetry]',
        '  connecting --> checking : after heartbeatInterval',
        '  checking --> connecting : always [isOnline and not canRetry]',
        '  checking --> idle : always [guard]',
        '  checking --> idle : always',
      ),
    );
  });

  it('draws nested states that share a name as distinct, labelled nodes', () => {
    const machine = setup({}).createMachine({
      id: 'connection',
      initial: 'open',
      states: {
        open: {
          initial: 'idle',
          states: { idle: { on: { CLOSE: '#connection.closing.idle' } }, busy: {} },
        },
        closing: {
          initial: 'idle',
          states: { idle: { on: { 'ws:close': '#connection.open.busy' } } },
        },
      },
    });

    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> open',
        '  state open {',
        '    [*] --> open_idle',
        '    state "idle" as open_idle',
        '    state "busy" as open_busy',
        '  }',
        '  state closing {',
        '    [*] --> closing_idle',
        '    state "idle" as closing_idle',
        '  }',
        '  open_idle --> closing_idle : CLOSE',
        '  closing_idle --> open_busy : ws#58;close',
      ),
    );
  });

  it('draws done and error events of invoked actors by actor id, or by src when unnamed', () => {
    const machine = setup({ actors: { fetchUser: fromPromise(async () => 1) } }).createMachine({
      id: 'loader',
      initial: 'loading',
      states: {
        loading: {
          invoke: [
            { id: 'user', src: 'fetchUser', onDone: 'ready', onError: 'failed' },
            { src: 'fetchUser', onError: 'failed' },
          ],
        },
        ready: {},
        failed: {},
      },
    });

    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> loading',
        '  loading',
        '  ready',
        '  failed',
        '  loading --> ready : done#58; user',
        '  loading --> failed : error#58; user',
        '  loading --> failed : error#58; fetchUser',
      ),
    );
  });

  it('draws machine-level transitions from an (any state) node and escapes reserved characters', () => {
    const machine = setup({}).createMachine({
      id: 'app',
      initial: 'note',
      on: { 'app.reset#1;now': '.note', '"quoted"': { actions: () => undefined } },
      states: { note: {}, 'my-state': { on: { 'a.b': 'note' } } },
    });

    expect(toMermaid(machine)).toBe(
      diagram(
        'stateDiagram-v2',
        '  [*] --> _note',
        '  state "note" as _note',
        '  state "my-state" as my_state',
        '  my_state --> _note : a.b',
        '  state "(any state)" as _any',
        '  _any --> _note : app.reset#35;1#59;now',
        '  _any --> _any : #quot;quoted#quot; / action',
      ),
    );
  });
});
