// date-fns: formatting with every token family, parsing (format strings and ISO), arithmetic,
// differences, intervals, relative and distance formatting, week-based years, and the
// RangeErrors of invalid dates and format strings. Fixed dates only (the runner sets TZ=UTC).

const FORMATS = [
  'yyyy-MM-dd HH:mm:ss.SSS',
  "EEEE, MMMM do yyyy 'at' h:mm a",
  'GGGG yo Qo QQQ qqqq MMMMM LLL wo Io do e eeee c cccc',
  'Do DDD',
  'R RRRR I II u B BBBB b h H K k m s S SS X XX XXX x xxx O OOOO z zzzz t T',
  'P PP PPP PPPP p pp ppp pppp Pp PPpp',
  "''quoted'' 'it''s' yy",
];

/** The value of `fn`, or the class and message of what it threw. */
function attempt(fn, log) {
  try {
    return fn();
  } catch (e) {
    log?.('caught', e.name);
    return [e.constructor.name, e.message];
  }
}

export default function workload(dfns, log) {
  const d = new Date(Date.UTC(2024, 1, 29, 13, 5, 9, 42)); // a leap day, a Thursday
  const out = {};
  out.formatted = FORMATS.map((f) => attempt(() => dfns.format(d, f)));
  out.dayOfYear = dfns.format(d, 'Do DDD', { useAdditionalDayOfYearTokens: true });
  out.localized = dfns.format(d, 'PPPPpppp', { weekStartsOn: 1, firstWeekContainsDate: 4 });
  out.iso = [
    dfns.formatISO(d),
    dfns.formatISO9075(d),
    dfns.formatRFC3339(d, { fractionDigits: 3 }),
    dfns.formatRFC7231(d),
  ];

  out.parsed = [
    ['2024-02-29', 'yyyy-MM-dd'],
    ['29/02/2024 1:05 PM', 'dd/MM/yyyy h:mm a'],
    ['Thursday, February 29th, 2024', 'EEEE, MMMM do, yyyy'],
    ['2024 W09 4', "RRRR 'W'II i"],
    ['12 Feb 2024 +05:30', 'dd MMM yyyy xxx'],
    ['1709211909', 't'],
    ['2023-02-29', 'yyyy-MM-dd'],
    ['not a date', 'yyyy'],
  ].map(([s, f]) => {
    const p = dfns.parse(s, f, d);
    return [s, dfns.isValid(p) ? p.toISOString() : 'Invalid Date'];
  });
  out.parsedISO = [
    '2024-02-29T13:05:09.042Z',
    '2024-W09-4',
    '2024-060',
    '2024-02-29T25:00',
    '20240229T130509',
  ].map((s) => String(dfns.parseISO(s)));

  out.arithmetic = [
    dfns.add(d, { years: 1, months: 1, weeks: 1, days: 1, hours: 1, minutes: 1, seconds: 1 }),
    dfns.addBusinessDays(d, 10),
    dfns.subMonths(d, 12),
    dfns.addYears(d, 1),
    dfns.setDay(d, 0, { weekStartsOn: 1 }),
    dfns.setISOWeek(d, 1),
    dfns.setQuarter(d, 4),
    dfns.lastDayOfMonth(d),
    dfns.roundToNearestMinutes(d, { nearestTo: 15 }),
    dfns.roundToNearestHours(d, { roundingMethod: 'ceil' }),
    dfns.startOfWeek(d, { weekStartsOn: 1 }),
    dfns.endOfQuarter(d),
    dfns.startOfISOWeekYear(d),
    dfns.closestTo(d, [new Date(0), new Date(Date.UTC(2024, 2, 1)), new Date(Date.UTC(2025, 0, 1))]),
    dfns.max([d, new Date(Date.UTC(2030, 0, 1))]),
    dfns.min([d, new Date(Date.UTC(1990, 0, 1))]),
  ].map((x) => x.toISOString());

  const later = new Date(Date.UTC(2026, 6, 4, 8, 30));
  out.differences = [
    'differenceInYears',
    'differenceInMonths',
    'differenceInCalendarWeeks',
    'differenceInBusinessDays',
    'differenceInCalendarISOWeekYears',
    'differenceInHours',
    'differenceInMinutes',
    'differenceInSeconds',
    'differenceInDays',
    'differenceInCalendarQuarters',
  ].map((name) => [name, dfns[name](later, d)]);
  out.duration = dfns.intervalToDuration({ start: d, end: later });
  out.formatDuration = dfns.formatDuration(out.duration, {
    format: ['years', 'months', 'days'],
    delimiter: ', ',
  });
  out.distance = [
    dfns.formatDistance(d, later),
    dfns.formatDistance(later, d, { addSuffix: true, includeSeconds: true }),
    dfns.formatDistanceStrict(d, later, { unit: 'day', roundingMethod: 'floor' }),
    dfns.formatDistance(d, dfns.addSeconds(d, 15), { includeSeconds: true }),
    dfns.formatRelative(dfns.subDays(d, 3), d),
    dfns.formatRelative(dfns.addDays(d, 1), d),
  ];

  const interval = { start: d, end: dfns.addDays(d, 20) };
  out.intervals = {
    days: dfns.eachDayOfInterval(interval).length,
    weekends: dfns.eachWeekendOfInterval(interval).map((x) => x.getUTCDate()),
    weeks: dfns.eachWeekOfInterval(interval, { weekStartsOn: 1 }).map((x) => x.toISOString()),
    hours: dfns.eachHourOfInterval({ start: d, end: dfns.addHours(d, 5) }, { step: 2 }).length,
    overlap: dfns.areIntervalsOverlapping(interval, { start: dfns.subDays(d, 1), end: dfns.addDays(d, 1) }),
    within: dfns.isWithinInterval(dfns.addDays(d, 3), interval),
    clamp: dfns.clamp(new Date(0), interval).toISOString(),
    reversed: dfns.eachMonthOfInterval({ start: later, end: d }).length,
  };
  out.predicates = [
    dfns.isLeapYear(d),
    dfns.isWeekend(d),
    dfns.isSameISOWeek(d, dfns.addDays(d, 2)),
    dfns.isFirstDayOfMonth(d),
    dfns.isLastDayOfMonth(d),
    dfns.isMatch('2024-02-30', 'yyyy-MM-dd'),
    dfns.isExists(2024, 1, 30),
    dfns.getISOWeeksInYear(d),
    dfns.getWeekOfMonth(d),
    dfns.getDaysInMonth(d),
    dfns.compareDesc(d, later),
  ];
  out.sorted = [later, d, new Date(0)].sort(dfns.compareAsc).map((x) => x.getTime());
  out.constructed = dfns.constructFrom(d, '2020-01-01T00:00:00Z').toISOString();
  out.transposed = dfns.transpose(d, Date).toISOString();

  // Errors: invalid dates and bad format strings.
  out.errors = [
    () => dfns.format(new Date(Number.NaN), 'yyyy'),
    () => dfns.format(d, 'yyyy-MM-dd fff'),
    () => dfns.format(d, 'YYYY'),
    () => dfns.format(d, 'D'),
    () => dfns.parse('2024', 'YYYY', d),
    () => dfns.formatISO(new Date('x')),
    () => dfns.eachDayOfInterval({ start: d, end: later }, { step: 0 }),
    () => dfns.roundToNearestMinutes(d, { nearestTo: 45 }),
  ].map((f) => attempt(() => String(f()), log));
  out.defaults = (() => {
    dfns.setDefaultOptions({ weekStartsOn: 3 });
    const week = dfns.startOfWeek(d).toISOString();
    dfns.setDefaultOptions({});
    return [week, dfns.getDefaultOptions()];
  })();
  return out;
}
