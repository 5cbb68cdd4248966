// Checks the harness itself: two identical functions must measure close to 1x.
export default async function (h) {
  const f = () => Math.sqrt(Math.random());
  const g = () => Math.sqrt(Math.random());
  await h.compare(
    'harness check: identical functions',
    { baseline: f, subject: g },
    { target: '<= 1.3', note: 'noise floor of this machine' },
  );
}
