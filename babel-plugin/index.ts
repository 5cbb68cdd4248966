/**
 * `stepmark/babel-plugin`: the Babel plugin (Babel 7 and 8, with or without
 * `@babel/preset-typescript`). The decisions — options, directives, selection, names, locations,
 * the emitted code — come from the shared core in `instrument/`: the file is analysed by the same
 * walk as in the esbuild plugin (instrument/estree, over Babel's ESTree-like AST); this file only
 * writes the result into Babel's AST.
 *
 * It analyses the file on entering it (`Program.enter`), before other plugins and presets see it:
 * it sees the source as written (TypeScript included). When to write (docs/BABEL.md):
 *
 * - Every other plugin of the pass is passive (types, JSX, a module transform after this one):
 *   at `Program.exit`, into the same nodes, so no other visitor walks the frames and Babel does
 *   not re-scan the scopes of the wrapped bodies.
 * - Otherwise (preset-env, decorators, a user's plugin, or strip mode): at once, in
 *   `Program.enter`; the other plugins then transform the instrumented code (types stripped,
 *   modules converted, decorators applied).
 *
 * @example
 * // babel.config.json
 * { "presets": ["@babel/preset-typescript"], "plugins": [["stepmark/babel-plugin", { "include": ["src/**"] }]] }
 */
import type { NodePath, PluginObject, PluginPass, types as t } from '@babel/core';
import { catalogWriter } from '../instrument/catalog.js';
import { type Analysis, analyze } from '../instrument/estree/analyze.js';
import { type Comment, firstStatementOffset, type Node, type VisitorKeys } from '../instrument/estree/ast.js';
import { catalogOf } from '../instrument/estree/catalog.js';
import { DirectiveIndex } from '../instrument/estree/directives.js';
import { planStrip } from '../instrument/estree/strip.js';
import {
  ABI_CHECK_FUNCTION,
  ABI_EXPORT,
  ABI_VERSION,
  type FileSelection,
  formatLocation,
  type LineColumn,
  LineIndex,
  projectRelativePath,
  type ResolvedOptions,
  RUNTIME_BINDING,
  resolveOptions,
  runtimeSpecifier,
  SKIP_REASONS,
  type SkipReason,
  StepmarkBuildError,
  type StepmarkOptions,
  selectFile,
  selectsWholeFile,
} from '../instrument/index.js';
import { emitFrame, resumeInHandlers, rewriteCall, wrapReturn, wrapSuspension } from './frame.js';
import { checkInclude } from './include.js';
import { applyStrip } from './strip.js';

type Types = typeof t;

/**
 * The subset of Babel's plugin API used here (the same in Babel 7 and 8). Declared here rather
 * than imported so the published types do not depend on which Babel's typings a project has.
 */
export interface BabelApi {
  types: unknown;
  assertVersion(range: number | string): void;
}

/** What the factory returns: an ordinary Babel plugin object (typed loosely: any Babel's typings accept it). */
export interface StepmarkBabelPluginObject {
  name: string;
  // `any`: must be assignable to the Visitor type of both Babel 7 and Babel 8 typings
  visitor: any;
}

export type { StepmarkOptions } from '../instrument/index.js';

/** Babel versions this plugin supports. */
export const BABEL_VERSION_RANGE = '^7.22.0 || ^8.0.0';

/**
 * The plugin factory (Babel calls it once per options object; options are validated here,
 * so a typo fails the build at configuration time).
 */
export default function stepmarkBabelPlugin(
  api: BabelApi,
  rawOptions?: StepmarkOptions | object,
): StepmarkBabelPluginObject {
  api.assertVersion(BABEL_VERSION_RANGE);
  const options = resolveOptions(rawOptions, { host: 'stepmark/babel-plugin' });
  const t = api.types as Types;
  let includeChecked = false;
  const enter = (path: NodePath<t.Program>, state: PluginPass) => {
    if (!includeChecked) {
      const filename = state.filename ?? state.file.opts.filename ?? undefined;
      includeChecked = checkInclude(
        filename ? projectRelativePath(filename, options.root) : undefined,
        options,
      );
    }
    const run = prepareFile(t, path, state, options);
    if (!run) return;
    // Strip mode removes code other plugins must not see: it writes at once.
    if (!options.strip && sharesPass(state, enter, run.decorated)) (state as RunHolder)[RUN] = run;
    else run.finish(false);
  };
  const plugin: PluginObject<PluginPass> = {
    name: 'stepmark',
    visitor: {
      Program: {
        enter,
        exit(_path, state) {
          const run = (state as RunHolder)[RUN];
          if (!run) return;
          (state as RunHolder)[RUN] = undefined;
          run.finish(true);
        },
      },
    },
  };
  return plugin as StepmarkBabelPluginObject;
}

/** Where a file's run waits for `Program.exit` (on Babel's per-file plugin state). */
const RUN = Symbol('stepmark.run');
type RunHolder = PluginPass & { [RUN]?: FileRun };

/** Writes the analysis of one file into it, the runtime import and the debug line. */
interface FileRun {
  /** Whether the file has decorators or `accessor` members (see {@link sharesPass}). */
  readonly decorated: boolean;
  /** `atExit`: at the end of a pass shared with passive plugins (TypeScript has compiled the file). */
  finish(atExit: boolean): void;
}

/**
 * Plugins that may share a pass with deferred frames: they neither restructure function bodies
 * nor lower syntax that the frames use (`const`, `?.`). Syntax plugins have no visitor at all.
 */
const PASSIVE_PLUGIN =
  /^(?:transform-typescript|transform-react-jsx(?:-development|-self|-source)?|transform-react-display-name|transform-react-pure-annotations)$/;
/** Plugins whose work happens in `Program.exit`: fine when they come after this one. */
const LATER_PLUGIN = /^transform-modules-commonjs$/;
/**
 * Decorator transforms rewrite only decorated classes and `accessor` members: passive for a file
 * that has neither (most files of a project that uses decorators).
 */
const DECORATORS_PLUGIN = /^(?:proposal|transform)-decorators$/;

/**
 * Whether this file's edits can wait for `Program.exit`: every other plugin of the pass is passive
 * (or a module transform that runs after us). Unknown plugins, or a pass we cannot read, say no.
 */
function sharesPass(state: PluginPass, ownEnter: unknown, decorated: boolean): boolean {
  const opts = state.file.opts as { plugins?: unknown; passPerPreset?: boolean };
  if (opts.passPerPreset || !Array.isArray(opts.plugins)) return false;
  const plugins = opts.plugins as Array<{ key?: unknown; visitor?: Record<string, unknown> }>;
  const self = plugins.findIndex((p) => {
    const program = p.visitor?.Program as { enter?: unknown } | undefined;
    const enters = program?.enter;
    return enters === ownEnter || (Array.isArray(enters) && enters.includes(ownEnter));
  });
  if (self < 0) return false;
  return plugins.every((p, i) => {
    if (i === self) return true;
    const key = typeof p.key === 'string' ? p.key : '';
    if (PASSIVE_PLUGIN.test(key)) return true;
    if (LATER_PLUGIN.test(key)) return i > self;
    if (DECORATORS_PLUGIN.test(key)) return !decorated;
    // a syntax plugin: nothing but Babel's own markers in its visitor
    return Object.keys(p.visitor ?? {}).every((k) => k.startsWith('_'));
  });
}

/**
 * Analyses one file on entering it, with the rules shared with the esbuild plugin
 * (instrument/estree), and returns what writes the result into it, or undefined when the file has
 * nothing to do.
 */
function prepareFile(
  t: Types,
  program: NodePath<t.Program>,
  state: PluginPass,
  options: ResolvedOptions,
): FileRun | undefined {
  const file = state.file;
  // transformFromAst may come without the source text
  const code: string = file.code ?? '';
  const filename = state.filename ?? file.opts.filename ?? undefined;
  const relPath = filename ? projectRelativePath(filename, options.root) : 'unknown';
  const root = program.node as unknown as Node;
  const comments = (file.ast.comments ?? []) as unknown as Comment[];
  let lines: LineIndex | undefined;
  const codeFrameError = (error: unknown): Error => {
    if (!(error instanceof StepmarkBuildError) || error.offset === undefined) return error as Error;
    lines ??= new LineIndex(code);
    const start = lines.locate(error.offset);
    const end = lines.locate(error.offset + (error.length ?? 1));
    const loc = {
      start: { line: start.line, column: start.column - 1, index: error.offset },
      end: { line: end.line, column: end.column - 1, index: error.offset + (error.length ?? 1) },
    };
    const e = file.buildCodeFrameError(
      { loc } as unknown as t.Node,
      `${error.message} (${start.line}:${start.column})`,
    );
    Object.assign(e, { code: error.code, stepmarkError: error });
    return e;
  };
  /** Line and column of what starts at `offset` (`node`): its location as Babel parsed it, else from the text. */
  const locate = (offset: number, node: Node): LineColumn | undefined => {
    const loc = (node as { loc?: t.SourceLocation | null }).loc;
    if (loc && (node.start === offset || !code))
      return { line: loc.start.line, column: loc.start.column + 1 };
    return code ? (lines ??= new LineIndex(code)).locate(offset) : undefined;
  };

  let analysis: Analysis;
  let selection: FileSelection;
  try {
    const directives = DirectiveIndex.build(
      code,
      comments,
      firstStatementOffset(root),
      code ? undefined : leadingCode(root, t.VISITOR_KEYS),
    );
    selection = selectFile(relPath, directives.fileMarked, options);
    const wholeFile = selectsWholeFile(selection);
    if (!wholeFile && directives.isEmpty && !code.includes(options.importSource)) {
      if (options.debug) debugLog(relPath, selection, undefined);
      return undefined;
    }
    const policy = { ...options, wholeFile };
    analysis = analyze(root, code, directives, policy, t.VISITOR_KEYS);
  } catch (e) {
    throw codeFrameError(e);
  }
  // Decided now: TypeScript's `import x = require()` / `export =` are gone by Program.exit.
  const commonJs = isCommonJs(program);
  // stage catalog (docs/CATALOG.md), from the file as written
  const catalog =
    options.catalog === undefined
      ? undefined
      : catalogOf(analysis, relPath, {
          program: root,
          importSource: options.importSource,
          visitorKeys: t.VISITOR_KEYS,
          locate: (offset, node) => locate(offset, node) ?? { line: 0, column: 0 },
        });
  const strip = options.strip ? planStrip(root, analysis, options.importSource, t.VISITOR_KEYS) : undefined;

  return {
    decorated: analysis.decorated,
    finish(atExit: boolean) {
      if (strip) {
        applyStrip(t, program.node, strip);
        // other plugins of the pass (TypeScript's import elision) see what is still referenced
        program.scope.crawl();
      } else {
        for (const call of analysis.calls) rewriteCall(call);
        for (const frame of analysis.frames) {
          for (const s of frame.suspensions) wrapSuspension(s);
          for (const r of frame.returns) wrapReturn(r);
          resumeInHandlers(frame.resumeTrys);
          const at = options.locations ? locate(frame.start, frame.key ?? frame.fn) : undefined;
          const location = at && formatLocation(relPath, at.line, at.column);
          emitFrame(frame.fn, frame.spec, location, frame.derivedConstructor, atExit);
        }
        if (analysis.frames.length + analysis.calls.length > 0)
          addRuntimeImport(t, program, options.importSource, commonJs);
      }
      if (catalog) catalogWriter(options.catalog!, options.root).set(catalog);
      if (options.debug) debugLog(relPath, selection, analysis, strip !== undefined, atExit);
    },
  };
}

/**
 * Where each comment's code starts, for an AST that came without its text: the start of the
 * outermost node the comment leads.
 */
function leadingCode(program: Node, keys: VisitorKeys): (comment: Comment) => number {
  const at = new Map<number, number>();
  const visit = (node: Node): void => {
    for (const c of (node.leadingComments ?? []) as Comment[])
      if (!at.has(c.start)) at.set(c.start, node.start);
    for (const key of keys[node.type] ?? []) {
      const child = node[key];
      if (Array.isArray(child)) {
        for (const c of child) if (c && typeof c.type === 'string') visit(c);
      } else if (child && typeof child.type === 'string') visit(child);
    }
  };
  visit(program);
  return (comment) => at.get(comment.start) ?? comment.end;
}

/**
 * Adds the one runtime binding as the first statement (after the directive prologue): an ESM
 * import for modules, `require(...).abi(1)` for CommonJS and scripts (docs/ABI.md "Import").
 */
function addRuntimeImport(
  t: Types,
  program: NodePath<t.Program>,
  importSource: string,
  commonJs: boolean,
): void {
  const node = program.node;
  if (program.scope.hasOwnBinding(RUNTIME_BINDING)) return; // already there (second pass)
  const specifier = t.stringLiteral(runtimeSpecifier(importSource));
  let statement: t.Statement;
  if (commonJs) {
    statement = t.variableDeclaration('const', [
      t.variableDeclarator(
        t.identifier(RUNTIME_BINDING),
        t.callExpression(
          t.memberExpression(
            t.callExpression(t.identifier('require'), [specifier]),
            t.identifier(ABI_CHECK_FUNCTION),
          ),
          [t.numericLiteral(ABI_VERSION)],
        ),
      ),
    ]);
  } else {
    statement = t.importDeclaration(
      [t.importSpecifier(t.identifier(RUNTIME_BINDING), t.identifier(ABI_EXPORT))],
      specifier,
    );
  }
  node.body.unshift(statement);
}

/**
 * Whether the file is CommonJS (or a script): Babel parsed it as a script, or it has no
 * `import`/`export` and uses `require`, `module` or `exports`.
 */
function isCommonJs(program: NodePath<t.Program>): boolean {
  if (program.node.sourceType === 'script') return true;
  for (const s of program.node.body) {
    if (
      s.type === 'ImportDeclaration' ||
      s.type === 'ExportNamedDeclaration' ||
      s.type === 'ExportDefaultDeclaration' ||
      s.type === 'ExportAllDeclaration' ||
      s.type === 'TSExportAssignment' ||
      s.type === 'TSImportEqualsDeclaration'
    ) {
      return s.type === 'TSExportAssignment' || s.type === 'TSImportEqualsDeclaration';
    }
  }
  const globals = program.scope.globals as Record<string, unknown>;
  return 'require' in globals || 'module' in globals || 'exports' in globals;
}

function debugLog(
  relPath: string,
  selection: FileSelection,
  analysis: Analysis | undefined,
  strip = false,
  atExit = false,
): void {
  const parts = [
    `stepmark: ${relPath}: file ${selection === 'none' ? 'not marked' : `marked (${selection})`}`,
  ];
  if (analysis) {
    const frames = analysis.frames.length;
    parts.push(`${strip ? 0 : frames} instrumented`, `${analysis.calls.length} calls rewritten`);
    for (const [why, n] of Object.entries(analysis.skipped))
      parts.push(`${n} skipped: ${SKIP_REASONS[why as SkipReason]}`);
    if (strip && frames > 0) parts.push(`${frames} skipped: strip mode`);
    if (atExit && frames > 0)
      parts.push('frames written at the end of the pass (no other plugin rewrites them)');
  } else {
    parts.push('nothing to do');
  }
  process.stderr.write(`${parts.join(', ')}\n`);
}
