/**
 * The rules for one function a plugin meets, over a host-neutral description of it: whether it gets
 * a frame (selection and eligibility, docs/NAMING.md §3), and what its `enter` call says
 * (docs/ABI.md "Frames"). Every plugin describes its functions with {@link FunctionSite} and
 * {@link FunctionShape}, calls {@link selectFunction} and {@link frameSpec}, and writes
 * {@link enterCall} in its own AST (or {@link enterCallText} as text); the rules live only here.
 */
import {
  ABI,
  type FrameEnding,
  type FrameKind,
  frameEnding,
  frameFlags,
  RUNTIME_BINDING,
} from './constants.js';
import {
  checkEntityRoot,
  type Directive,
  type EntityPath,
  entityAccessText,
  hasOptions,
  type MarkDirective,
} from './directives.js';
import { type FunctionDescription, ineligibility } from './naming.js';

/** What the selection rule needs to know about a function with a body. */
export interface FunctionSite {
  /** Where it is bound (../naming.ts): decides eligibility. */
  readonly description: FunctionDescription;
  /** The directive on the function itself or on what binds exactly it (its declaration, property, field, `export`). */
  readonly own: Directive | undefined;
  /** The directive on its class or object literal (or on what binds that), for members. */
  readonly container: Directive | undefined;
  /** A `@stepmark-ignore` sits on something enclosing it. */
  readonly ignoredAbove: boolean;
  /**
   * It is in the body of a `with` statement (sloppy mode): the names a frame uses would be looked
   * up on that statement's object first, which may claim any name (a `Proxy` whose `has` says yes).
   */
  readonly insideWith?: boolean;
  /**
   * Whether it is a function a compiler wrote for a TypeScript enum or namespace in the same pass,
   * before the plugin saw the file (asked only for anonymous functions bound to nothing). The same
   * shape in the input is user code.
   */
  compilerHelper?(): boolean;
  /** Whether its body already starts with a frame (the idempotence marker of docs/ABI.md). */
  instrumented(): boolean;
}

/** Why a function gets no frame. */
export type SkipReason =
  | 'ignored'
  | 'not-marked'
  | 'compiler-helper'
  | 'accessor'
  | 'callback'
  | 'already-instrumented'
  | 'inside-with';

/** What the `debug` option prints for each {@link SkipReason}. */
export const SKIP_REASONS: Readonly<Record<SkipReason, string>> = {
  ignored: '@stepmark-ignore',
  'not-marked': 'not marked',
  'compiler-helper': 'TypeScript enum/namespace helper',
  accessor: 'getter/setter (option "getters" is off)',
  callback: 'anonymous function (option "callbacks" is off)',
  'already-instrumented': 'already instrumented',
  'inside-with': 'inside a `with` statement',
};

/** Two directives on one binding chain (a declaration and its function): `@stepmark-ignore` wins, then the one with options. */
export function mergeDirectives(a: Directive | undefined, b: Directive | undefined): Directive | undefined {
  if (!a || !b) return a ?? b;
  if (a.type === 'ignore' || b.type === 'ignore') return a.type === 'ignore' ? a : b;
  return hasOptions(a) ? a : b;
}

/**
 * Whether a function gets a frame (docs/NAMING.md §3): `@stepmark-ignore` on it or around it wins;
 * a `@stepmark` on the function itself selects it regardless of eligibility (its options, if any,
 * are returned); otherwise its file (`wholeFile`) or its class / object literal must be marked and
 * it must be eligible. A function that already has a frame is never wrapped again.
 */
export function selectFunction(
  site: FunctionSite,
  wholeFile: boolean,
  options: { readonly getters: boolean; readonly callbacks: boolean },
):
  | { readonly skip: SkipReason }
  | { readonly skip?: undefined; readonly directive: MarkDirective | undefined } {
  const own = site.own;
  if (own?.type === 'ignore' || site.ignoredAbove || site.container?.type === 'ignore') return SKIP.ignored;
  let directive: MarkDirective | undefined;
  if (own?.type === 'mark') directive = own;
  else {
    if (!wholeFile && site.container?.type !== 'mark') return SKIP['not-marked'];
    const b = site.description.binding;
    if (b.type === 'none' && site.description.ownName === undefined && site.compilerHelper?.())
      return SKIP['compiler-helper'];
    const why = ineligibility(site.description, options);
    if (why !== undefined) return SKIP[why];
  }
  if (site.insideWith) return SKIP['inside-with'];
  if (site.instrumented()) return SKIP['already-instrumented'];
  return { directive };
}

const SKIP = Object.fromEntries(
  (Object.keys(SKIP_REASONS) as SkipReason[]).map((skip) => [skip, { skip }]),
) as Record<SkipReason, { readonly skip: SkipReason }>;

/** What the frame rules need to know about the function itself. */
export interface FunctionShape extends FrameKind {
  readonly arrow: boolean;
  /** The constructor of a class with an `extends` clause. */
  readonly derivedConstructor: boolean;
  /** Whether the body has a top-level `super(…);` statement (asked for derived constructors with `entity=this…`). */
  hasSuperCall(): boolean;
  /** Every name the parameter list binds, destructured names included (asked when `entity=` is given). */
  parameterNames(): readonly string[];
}

/** What one frame's `enter` call says, and how the frame closes its span. */
export interface FrameSpec {
  readonly name: string;
  /**
   * `'returns'`: each `return v` of the function (after the frame opens) becomes `return __smf.x(v)`
   * and the `try` block ends with `__smf.exit()`; `'finally'`: a `finally` closes it ({@link frameEnding}).
   */
  readonly ending: FrameEnding;
  /** From `@stepmark entity=… kind=…`: the span is entity-scoped with this parameter path's value. */
  readonly entity?: EntityPath;
  readonly kind?: string;
  /** The optional last argument of `enter`/`enterEntity` (FRAME_ASYNC), or undefined for none. */
  readonly flags?: number;
}

/**
 * The `enter` call of a selected function. Checks an `entity=` path against the function: it must
 * start at a parameter, or at `this` where `this` is the function's own receiver: not in arrows,
 * and not in a derived constructor without a top-level `super()` (the frame opens before it there).
 *
 * @throws StepmarkDirectiveError at the directive for an entity path the function cannot read
 */
export function frameSpec(name: string, directive: MarkDirective | undefined, fn: FunctionShape): FrameSpec {
  const flags = frameFlags(fn);
  const ending = frameEnding(fn);
  if (directive?.entity === undefined)
    return flags === undefined ? { name, ending } : { name, ending, flags };
  const thisAllowed = !fn.arrow && !(fn.derivedConstructor && !fn.hasSuperCall());
  checkEntityRoot(directive, directive.entity.segments[0] === 'this' ? [] : fn.parameterNames(), thisAllowed);
  return { name, ending, entity: directive.entity, kind: directive.kind, flags };
}

/** One argument of an `enter` call, for hosts that build it as AST nodes. */
export type EnterArgument =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly value: number }
  /** `void 0` */
  | { readonly type: 'undefined' }
  | { readonly type: 'null' }
  /** `__stepmark.on() && root?.a?.b`: the entity id, read only while some trace is active */
  | { readonly type: 'entity'; readonly entity: EntityPath };

/**
 * The call that opens a frame, `__stepmark.<method>(…args)`: `enter(name, location, flags?)`, or
 * `enterEntity(name, location, kind, __stepmark.on() && entity?.path, flags?)`. `location` is
 * undefined when locations are off (`void 0`).
 */
export function enterCall(
  spec: FrameSpec,
  location: string | undefined,
): { readonly method: string; readonly args: readonly EnterArgument[] } {
  const args: EnterArgument[] = [
    { type: 'string', value: spec.name },
    location === undefined ? { type: 'undefined' } : { type: 'string', value: location },
  ];
  if (spec.entity !== undefined) {
    args.push(spec.kind === undefined ? { type: 'null' } : { type: 'string', value: spec.kind });
    args.push({ type: 'entity', entity: spec.entity });
  }
  if (spec.flags !== undefined) args.push({ type: 'number', value: spec.flags });
  return { method: spec.entity === undefined ? ABI.enter : ABI.enterEntity, args };
}

/** {@link enterCall} as source text (for hosts that emit text). */
export function enterCallText(spec: FrameSpec, location: string | undefined): string {
  const { method, args } = enterCall(spec, location);
  return `${RUNTIME_BINDING}.${method}(${args.map(argumentText).join(', ')})`;
}

function argumentText(a: EnterArgument): string {
  switch (a.type) {
    case 'string':
      return JSON.stringify(a.value);
    case 'number':
      return String(a.value);
    case 'undefined':
      return 'void 0';
    case 'null':
      return 'null';
    case 'entity':
      return `${RUNTIME_BINDING}.${ABI.on}() && ${entityAccessText(a.entity)}`;
  }
}
