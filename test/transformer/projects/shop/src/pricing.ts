import { step } from 'stepmark';

/** A class without a file mark: only its explicitly marked method is instrumented. */
export class Pricing {
  constructor(private readonly tax: number) {}

  /** @stepmark */
  total(items: number[]): number {
    const net = items.reduce((a, b) => a + b, 0);
    step('priced', { net });
    return Math.round(net * (1 + this.tax));
  }

  untraced(): number {
    return this.tax;
  }
}
