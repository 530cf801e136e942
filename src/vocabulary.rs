//! The engine's vocabulary for JavaScript: `lib/generated/vocabulary.js`
//! and its `.d.ts` are rendered here from
//! [`synchronik_core::vocabulary`], and `vocabulary()` hands them to the
//! script that writes them (`npm run vocabulary`, part of `npm run build`)
//! and to the test that fails while the files on disk are stale.

use std::fmt::Write;

use napi_derive::napi;

use synchronik_core::vocabulary::{
    abort_message, defaults, name_lists, unit_settings, Group, Kind, Value, HOST_ERROR_CODES,
    OPCODES, STRIDE,
};
use synchronik_core::{AbortReason, ErrorCode};

/// A stable code and the number it crosses the bridge as.
#[napi(object)]
pub struct NumberedCode {
    pub number: u32,
    pub code: String,
}

/// The numbers the engine's records use for error codes and abort reasons.
#[napi(object)]
pub struct EngineCodes {
    /// Every error code (`DONE` and `ERRORED` records).
    pub errors: Vec<NumberedCode>,
    /// Every abort reason (`ABORT` records), with the error code of the
    /// signal's reason.
    pub aborts: Vec<NumberedCode>,
}

/// Every error code and abort reason this engine can send (what the
/// generated tables must hold).
#[napi]
pub fn engine_codes() -> EngineCodes {
    EngineCodes {
        errors: ErrorCode::ALL
            .iter()
            .map(|&c| NumberedCode {
                number: u32::from(c as u8),
                code: c.as_str().to_string(),
            })
            .collect(),
        aborts: AbortReason::ALL
            .iter()
            .map(|&r| NumberedCode {
                number: u32::from(r as u8),
                code: r.code().as_str().to_string(),
            })
            .collect(),
    }
}

/// The generated files' text.
#[napi(object)]
pub struct VocabularyFiles {
    /// `lib/generated/vocabulary.js`.
    pub javascript: String,
    /// `lib/generated/vocabulary.d.ts`.
    pub typescript: String,
}

/// The engine's vocabulary as the files `lib/generated/` must hold.
#[napi]
pub fn vocabulary() -> VocabularyFiles {
    VocabularyFiles {
        javascript: javascript(),
        typescript: typescript(),
    }
}

const HEADER: &str = "\
// GENERATED FILE, DO NOT EDIT. Made from the engine's vocabulary
// (crates/synchronik-core/src/vocabulary.rs) by `npm run vocabulary`, which
// `npm run build` runs; __test__/vocabulary.spec.js fails while it is stale.
";

/// A string as a JavaScript literal: in single quotes, or in double quotes
/// when it holds single quotes and no double quotes.
fn string(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            c if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A number as a JavaScript literal (integers without a fraction, large
/// ones in exponent form).
fn number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        format!("{n:e}")
    }
}

fn value(v: Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Text(t) => string(t),
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| string(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `'a' | 'b'` (`never` for none).
fn union(names: &[&str]) -> String {
    if names.is_empty() {
        return "never".to_owned();
    }
    names
        .iter()
        .map(|n| string(n))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Every default: the vocabulary's own, then each unit setting's.
fn all_defaults() -> Vec<(&'static str, Value, String)> {
    let mut all: Vec<(&'static str, Value, String)> = defaults()
        .into_iter()
        .map(|(name, v, doc)| (name, v, doc.to_owned()))
        .collect();
    for s in unit_settings() {
        if let Some(v) = s.default {
            let of = match s.group {
                Group::Common => "a unit",
                Group::Worker => "a worker",
                Group::Process => "a process",
            };
            all.push((s.key, v, format!("`{}` of {of}.", s.key)));
        }
    }
    all
}

fn javascript() -> String {
    let mut js = String::new();
    let w = &mut js;
    let _ = writeln!(w, "{HEADER}\n'use strict';\n");
    let _ = writeln!(
        w,
        "/** Numbers per outbound record: an opcode and five operands (unused ones are 0). */\nconst STRIDE = {STRIDE};\n"
    );
    let _ = writeln!(w, "/** Opcodes of the outbound records; the comments list their operands. */\nconst OPS = Object.freeze({{");
    for o in OPCODES {
        let _ = writeln!(w, "  {}: {}, // {}", o.name, o.number, o.operands);
    }
    let _ = writeln!(w, "}});\n");
    let lists = name_lists();
    for l in &lists {
        let _ = writeln!(
            w,
            "/** {} By number. */\nconst {} = Object.freeze([{}]);\n",
            l.doc,
            l.name,
            quoted_list(&l.names)
        );
    }
    let _ = writeln!(w, "/** The error codes the engine sends, by number (`DONE`, `ERRORED`, `RETRY`, `TASK_DONE` records). */\nconst ERROR_CODES = Object.freeze([");
    for &c in ErrorCode::ALL {
        let _ = writeln!(
            w,
            "  Object.freeze({{ number: {}, code: {} }}),",
            c as u8,
            string(c.as_str())
        );
    }
    let _ = writeln!(w, "]);\n");
    let _ = writeln!(w, "/**\n * Why an attempt is aborted (`ABORT` records), by number: the code its\n * signal's reason carries, and its message (`{{id}}`: the unit's id).\n */\nconst ABORT_REASONS = Object.freeze([");
    for &r in AbortReason::ALL {
        let _ = writeln!(
            w,
            "  Object.freeze({{ number: {}, code: {}, message: {} }}),",
            r as u8,
            string(r.code().as_str()),
            string(abort_message(r))
        );
    }
    let _ = writeln!(w, "]);\n");
    let _ = writeln!(
        w,
        "/** Codes the facade makes itself, never the engine. */\nconst HOST_ERROR_CODES = Object.freeze([{}]);\n",
        quoted_list(&HOST_ERROR_CODES)
    );
    let _ = writeln!(
        w,
        "/** Every default, by name. */\nconst DEFAULTS = Object.freeze({{"
    );
    for (name, v, doc) in all_defaults() {
        let _ = writeln!(w, "  {name}: {}, // {doc}", value(v));
    }
    let _ = writeln!(w, "}});\n");
    let _ = writeln!(w, "/**\n * The settings a unit object may carry, in the order they are checked,\n * with their rules: `kind`, its bounds (`min`, `exclusive`) or names\n * (`values`), the `default`, and what a message says the value must be.\n */\nconst UNIT_SETTINGS = Object.freeze([");
    for s in unit_settings() {
        let mut fields = vec![
            format!("key: {}", string(s.key)),
            format!("group: {}", string(s.group.as_str())),
            format!("kind: {}", string(s.kind.as_str())),
        ];
        match &s.kind {
            Kind::Number { min, exclusive } => {
                fields.push(format!("min: {}", number(*min)));
                fields.push(format!("exclusive: {exclusive}"));
            }
            Kind::Integer { min } | Kind::NumberOrFunction { min } => {
                fields.push(format!("min: {}", number(*min)));
            }
            Kind::OneOf { list } => fields.push(format!("values: {list}")),
            _ => {}
        }
        if let Some(v) = s.default {
            fields.push(format!("default: {}", value(v)));
        }
        fields.push(format!("expected: {}", string(&s.expected)));
        let _ = writeln!(w, "  Object.freeze({{ {} }}),", fields.join(", "));
    }
    let _ = writeln!(w, "]);\n");
    let names: Vec<&str> = lists.iter().map(|l| l.name).collect();
    let _ = writeln!(
        w,
        "module.exports = Object.freeze({{\n  STRIDE,\n  OPS,\n{}\n  ERROR_CODES,\n  ABORT_REASONS,\n  HOST_ERROR_CODES,\n  DEFAULTS,\n  UNIT_SETTINGS,\n}});",
        names
            .iter()
            .map(|n| format!("  {n},"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    js
}

fn typescript() -> String {
    let mut ts = String::new();
    let w = &mut ts;
    let _ = writeln!(w, "{HEADER}");
    let _ = writeln!(
        w,
        "/** Numbers per outbound record: an opcode and five operands. */\nexport declare const STRIDE: {STRIDE};\n"
    );
    let _ = writeln!(
        w,
        "/** Opcodes of the outbound records. */\nexport declare const OPS: Readonly<{{"
    );
    for o in OPCODES {
        let _ = writeln!(w, "  /** {} */\n  {}: {};", o.operands, o.name, o.number);
    }
    let _ = writeln!(w, "}}>;\n");
    for l in name_lists() {
        match l.item {
            Some(item) => {
                let _ = writeln!(
                    w,
                    "/** {} */\nexport type {item} = {};\n/** {} By number. */\nexport declare const {}: readonly {item}[];\n",
                    l.doc,
                    union(&l.names),
                    l.doc,
                    l.name
                );
            }
            None => {
                let _ = writeln!(
                    w,
                    "/** {} */\nexport declare const {}: readonly TaskStatus[];\n",
                    l.doc, l.name
                );
            }
        }
    }
    let engine: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut aborts: Vec<&str> = AbortReason::ALL.iter().map(|r| r.code().as_str()).collect();
    aborts.dedup();
    let _ = writeln!(
        w,
        "/** The codes of errors the engine makes. */\nexport type EngineErrorCode = {};\n",
        union(&engine)
    );
    let _ = writeln!(
        w,
        "/** The codes of an aborted attempt's signal reason (the engine's abort reasons). */\nexport type AbortCode = {};\n",
        union(&aborts)
    );
    let _ = writeln!(
        w,
        "/** The codes the facade makes itself. */\nexport type HostErrorCode = {};\n",
        union(&HOST_ERROR_CODES)
    );
    let _ = writeln!(w, "/** Every code a SynchronikError can carry. */\nexport type ErrorCode = EngineErrorCode | HostErrorCode;\n");
    let _ = writeln!(w, "/** The error codes the engine sends, by number. */\nexport declare const ERROR_CODES: readonly {{ readonly number: number; readonly code: EngineErrorCode }}[];\n");
    let _ = writeln!(w, "/** Why an attempt is aborted, by number: its code and message (`{{id}}`: the unit's id). */\nexport declare const ABORT_REASONS: readonly {{ readonly number: number; readonly code: AbortCode; readonly message: string }}[];\n");
    let _ = writeln!(w, "/** Codes the facade makes itself. */\nexport declare const HOST_ERROR_CODES: readonly HostErrorCode[];\n");
    let _ = writeln!(
        w,
        "/** Every default, by name. */\nexport declare const DEFAULTS: Readonly<{{"
    );
    for (name, v, doc) in all_defaults() {
        let _ = writeln!(w, "  /** {doc} */\n  {name}: {};", value(v));
    }
    let _ = writeln!(w, "}}>;\n");
    let settings = unit_settings();
    let mut kinds: Vec<&str> = settings.iter().map(|s| s.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut groups: Vec<&str> = settings.iter().map(|s| s.group.as_str()).collect();
    groups.dedup();
    let _ = writeln!(
        w,
        "/** A setting a unit object may carry, and its rule. */\nexport interface UnitSetting {{\n  readonly key: string;\n  readonly group: {};\n  readonly kind: {};\n  readonly min?: number;\n  readonly exclusive?: boolean;\n  readonly values?: readonly string[];\n  readonly default?: boolean | number | string;\n  readonly expected: string;\n}}\n",
        union(&groups),
        union(&kinds)
    );
    let _ = writeln!(
        w,
        "/** The settings a unit object may carry, in the order they are checked. */\nexport declare const UNIT_SETTINGS: readonly UnitSetting[];"
    );
    ts
}
