// rxjs: creation functions, ~40 operators (flattening, combination, buffering, windowing,
// grouping, error handling, retry), the four kinds of Subject, multicasting (share,
// shareReplay), teardown order, virtual time (VirtualTimeScheduler: delay, debounceTime,
// throttleTime, bufferTime, interval), real async schedulers (asap, async, promises) and errors.
// `log` records notifications and teardowns in the order rxjs delivers them.
//
// `timers: false` (the benchmark) replaces real timers with promise jobs, so that a timing measures
// the library's work rather than sleeping.

export default async function workload(rx, log, { timers = true } = {}) {
  const out = {};
  const {
    Observable,
    Subject,
    of,
    from,
    range,
    defer,
    EMPTY,
    throwError,
    concat,
    merge,
    zip,
    combineLatest,
  } = rx;
  const collect = (label, source) => {
    const values = [];
    source.subscribe({
      next: (v) => values.push(v),
      error: (e) => values.push(['error', e?.message ?? e]),
      complete: () => log(label, 'complete'),
    });
    return values;
  };

  // Operators over synchronous sources.
  out.sync = {
    pipeline: collect(
      'pipeline',
      range(1, 20).pipe(
        rx.map((n) => n * 2),
        rx.filter((n) => n % 3 !== 0),
        rx.scan((acc, n) => acc + n, 0),
        rx.distinctUntilChanged(),
        rx.pairwise(),
        rx.take(6),
      ),
    ),
    flattening: [
      collect('mergeMap', of(1, 2, 3).pipe(rx.mergeMap((n) => of(n, n * 10)))),
      collect('concatMap', of(1, 2).pipe(rx.concatMap((n) => range(n, 2)))),
      collect('switchMap', of('a', 'b').pipe(rx.switchMap((s) => of(`${s}1`, `${s}2`)))),
      collect('exhaustMap', of(1, 2).pipe(rx.exhaustMap((n) => of(n)))),
      collect('expand', of(1).pipe(rx.expand((n) => (n < 64 ? of(n * 2) : EMPTY)))),
      collect('mergeScan', of(1, 2, 3).pipe(rx.mergeScan((acc, n) => of(acc + n), 0))),
    ],
    combination: [
      collect('zip', zip(of(1, 2, 3), of('a', 'b'))),
      collect('combineLatest', combineLatest([of(1, 2), of('x', 'y')])),
      collect('forkJoin', rx.forkJoin({ a: of(1, 2), b: range(5, 3) })),
      collect('concat', concat(of(1), EMPTY, of(2, 3))),
      collect('merge', merge(of(1), of(2), 1)),
      collect('withLatestFrom', of(1, 2).pipe(rx.withLatestFrom(of('w')))),
      collect('startWith', of(3).pipe(rx.startWith(1, 2), rx.endWith(4))),
      collect('race', rx.race(of('first'), of('second'))),
    ],
    grouping: [
      collect(
        'groupBy',
        range(1, 10).pipe(
          rx.groupBy((n) => n % 3),
          rx.mergeMap((g) =>
            g.pipe(
              rx.toArray(),
              rx.map((xs) => [g.key, xs]),
            ),
          ),
        ),
      ),
      collect('bufferCount', range(1, 7).pipe(rx.bufferCount(3, 2))),
      collect(
        'windowCount',
        range(1, 5).pipe(
          rx.windowCount(2),
          rx.mergeMap((w) => w.pipe(rx.toArray())),
        ),
      ),
      collect('reduce', range(1, 5).pipe(rx.reduce((a, b) => a * b))),
      collect('distinct', of(1, 2, 1, 3, 2).pipe(rx.distinct())),
      collect('partition', rx.partition(range(1, 6), (n) => n % 2 === 0)[0]),
      collect('every', of(2, 4, 5).pipe(rx.every((n) => n % 2 === 0))),
      collect('defaultIfEmpty', EMPTY.pipe(rx.defaultIfEmpty('none'))),
      collect('elementAt', of('a', 'b').pipe(rx.elementAt(5, 'default'))),
    ],
  };

  // Errors: thrown by operators, caught, retried, finalized.
  let attempts = 0;
  const flaky = defer(() => {
    attempts++;
    log('subscribe flaky', attempts);
    return attempts < 3 ? throwError(() => new Error(`attempt ${attempts} failed`)) : of('recovered');
  });
  out.errors = [
    collect('retry', flaky.pipe(rx.retry(3))),
    collect(
      'catchError',
      of(1, 2, 3).pipe(
        rx.map((n) => {
          if (n === 2) throw new TypeError('two is not allowed');
          return n;
        }),
        rx.catchError((e) => of(`caught ${e.message}`)),
        rx.finalize(() => log('finalize')),
      ),
    ),
    collect(
      'throwError',
      throwError(() => new RangeError('boom')).pipe(rx.tap({ error: (e) => log('tap error', e.name) })),
    ),
    collect('timeoutWith', of(1).pipe(rx.single((n) => n > 5))),
    collect('first', EMPTY.pipe(rx.first())),
  ];
  try {
    rx.lastValueFrom(EMPTY).catch(() => {});
    out.emptyError = await rx.firstValueFrom(EMPTY);
  } catch (e) {
    out.emptyError = [e.name, e.message, e instanceof rx.EmptyError];
  }

  // Subjects and multicasting, with teardown order.
  const subject = new Subject();
  const behaviour = new rx.BehaviorSubject(0);
  const replay = new rx.ReplaySubject(2);
  const async = new rx.AsyncSubject();
  const seen = [];
  const subs = [subject, behaviour, replay, async].map((s, i) =>
    s.subscribe({ next: (v) => seen.push([i, v]), complete: () => seen.push([i, 'complete']) }),
  );
  for (const v of [1, 2, 3]) for (const s of [subject, behaviour, replay, async]) s.next(v);
  replay.subscribe((v) => seen.push(['late replay', v]));
  subs[0].unsubscribe();
  for (const s of [subject, behaviour, replay, async]) s.complete();
  out.subjects = { seen, value: behaviour.getValue(), closed: subject.observed };

  const source = new Observable((subscriber) => {
    log('source subscribed');
    subscriber.next('hello');
    subscriber.add(() => log('inner teardown'));
    return () => log('source teardown');
  });
  const shared = source.pipe(rx.shareReplay({ bufferSize: 1, refCount: true }));
  const s1 = shared.subscribe((v) => log('s1', v));
  const s2 = shared.subscribe((v) => log('s2', v));
  s1.unsubscribe();
  s2.unsubscribe();
  const connectable = rx.connectable(of(1, 2), { connector: () => new rx.ReplaySubject(1) });
  out.connectable = collect('connectable', connectable);
  connectable.connect();
  out.connectable.push(...collect('connectable, late', connectable));

  // Virtual time: time-based operators without real timers.
  const scheduler = new rx.VirtualTimeScheduler();
  const timed = [];
  rx.interval(10, scheduler)
    .pipe(
      rx.take(8),
      rx.debounceTime(5, scheduler),
      rx.throttleTime(25, scheduler),
      rx.delay(3, scheduler),
      rx.bufferTime(40, scheduler),
      rx.timestamp(scheduler),
    )
    .subscribe({
      next: (v) => timed.push([v.timestamp, v.value]),
      complete: () => timed.push(['complete', scheduler.now()]),
    });
  rx.timer(15, 5, scheduler)
    .pipe(rx.take(3), rx.timeInterval(scheduler))
    .subscribe((v) => timed.push(['timer', v.value, v.interval]));
  scheduler.flush();
  out.virtualTime = timed;

  // Real asynchrony: promises, asap and async schedulers, timers.
  const later = timers ? rx.asyncScheduler : rx.asapScheduler;
  out.async = await Promise.all([
    rx.firstValueFrom(from(Promise.resolve(41)).pipe(rx.map((n) => n + 1))),
    rx.lastValueFrom(of(1, 2, 3).pipe(rx.observeOn(rx.asapScheduler), rx.toArray())),
    rx.lastValueFrom(
      (timers ? rx.timer(2) : of(0).pipe(rx.observeOn(later))).pipe(
        rx.mergeMap(() => from((async () => 'async fn')())),
        rx.concatWith(of('after')),
        rx.toArray(),
      ),
    ),
    rx.lastValueFrom(rx.scheduled([1, 2], later).pipe(rx.subscribeOn(later), rx.toArray())),
    rx
      .firstValueFrom(
        rx.throwError(() => new Error('rejected')).pipe(timers ? rx.delay(1) : rx.observeOn(later)),
      )
      .catch((e) => `caught: ${e.message}`),
  ]);
  out.isObservable = [rx.isObservable(of(1)), rx.isObservable({ subscribe() {} })];
  return out;
}
