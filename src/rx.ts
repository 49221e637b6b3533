import type { Observable as RxObservable, Subject as RxSubject } from 'rxjs';
import { Observable as ObservableModule } from 'rxjs/internal/Observable';
import { Subject as SubjectModule } from 'rxjs/internal/Subject';

/**
 * RxJS's `Subject` and `Observable`, the two classes statewire constructs,
 * loaded from their own modules. rxjs's root index loads all of its 223
 * modules: 1.4 MB of heap in a fresh process against 0.4 MB for these. With
 * it, a statewire server's heap after startup was 7.4 MB and a full
 * mark-compact (1.6-10 ms, plus incremental steps) came within its first
 * seconds of traffic; at 6.4 MB none came in thirteen runs at 5,000 msg/s
 * (`node --trace-gc`). rxjs is pinned (7.8.2); its package exports
 * `./internal/*`, and these are the very classes its root index re-exports
 * (one module, one class identity). Types are declared from `rxjs` itself,
 * so no declaration statewire emits names an internal path.
 */
export const Subject: typeof RxSubject = SubjectModule;
export const Observable: typeof RxObservable = ObservableModule;
