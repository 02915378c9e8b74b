//! Evaluates parsed templates against JSON values, printing the way Go's fmt does.

use crate::parser::{Arg, Node, Pipeline};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Why a template could not be evaluated against a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("function \"{0}\" not defined")]
    UnknownFunction(String),
    #[error("{func}: {msg}")]
    BadCall { func: String, msg: String },
    #[error("undefined variable \"${0}\"")]
    UndefinedVariable(String),
    #[error("can't give argument to non-function {0}")]
    NotAFunction(String),
}

/// Normal evaluation, or the header row of a `table` format (fields yield their titles).
pub enum Mode<'a> {
    Value,
    Header(&'a dyn Fn(&str) -> String),
}

/// A value or Go's "no value" for a field that a map does not have.
type Val = Option<Value>;

struct Ctx<'a> {
    root: &'a Value,
    vars: Vec<(String, Value)>,
    mode: Mode<'a>,
}

pub fn execute(nodes: &[Node], root: &Value, mode: Mode<'_>) -> Result<String, EvalError> {
    let mut ctx = Ctx {
        root,
        vars: vec![],
        mode,
    };
    let mut out = String::new();
    walk(&mut ctx, nodes, root, &mut out)?;
    Ok(out)
}

fn walk(ctx: &mut Ctx, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), EvalError> {
    let depth = ctx.vars.len();
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Output(p) => {
                if let Mode::Header(titles) = ctx.mode {
                    if p.vars.is_empty() {
                        out.push_str(&header_of(p, titles));
                    }
                    continue;
                }
                let v = pipeline(ctx, p, dot)?;
                if p.vars.is_empty() {
                    out.push_str(&go_string(&v));
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                if matches!(ctx.mode, Mode::Header(_)) {
                    if let Some((_, body)) = branches.first() {
                        walk(ctx, body, dot, out)?;
                    }
                    continue;
                }
                let mut taken = false;
                for (cond, body) in branches {
                    if truthy(&pipeline(ctx, cond, dot)?) {
                        walk(ctx, body, dot, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    walk(ctx, otherwise, dot, out)?;
                }
            }
            Node::With {
                pipe,
                body,
                otherwise,
            } => {
                if matches!(ctx.mode, Mode::Header(_)) {
                    walk(ctx, body, dot, out)?;
                    continue;
                }
                let v = pipeline(ctx, pipe, dot)?;
                if truthy(&v) {
                    walk(ctx, body, &v.unwrap_or(Value::Null), out)?;
                } else {
                    walk(ctx, otherwise, dot, out)?;
                }
            }
            Node::Range {
                pipe,
                body,
                otherwise,
            } => {
                if matches!(ctx.mode, Mode::Header(_)) {
                    walk(ctx, body, dot, out)?;
                    continue;
                }
                let v = expr(ctx, &pipe.cmds, dot)?.unwrap_or(Value::Null);
                let entries: Vec<(Value, Value)> = match v {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| (Value::from(i), e))
                        .collect(),
                    Value::Object(m) => m.into_iter().map(|(k, e)| (Value::String(k), e)).collect(),
                    Value::Null => vec![],
                    other => {
                        return Err(EvalError::BadCall {
                            func: "range".into(),
                            msg: format!("can't iterate over {}", go_string(&Some(other))),
                        })
                    }
                };
                if entries.is_empty() {
                    walk(ctx, otherwise, dot, out)?;
                }
                for (k, e) in entries {
                    let mark = ctx.vars.len();
                    match pipe.vars.as_slice() {
                        [v] => ctx.vars.push((v.clone(), e.clone())),
                        [kv, vv] => {
                            ctx.vars.push((kv.clone(), k));
                            ctx.vars.push((vv.clone(), e.clone()));
                        }
                        _ => {}
                    }
                    walk(ctx, body, &e, out)?;
                    ctx.vars.truncate(mark);
                }
            }
        }
    }
    ctx.vars.truncate(depth);
    Ok(())
}

/// The header cell of an output action: the title of its first field chain.
fn header_of(p: &Pipeline, titles: &dyn Fn(&str) -> String) -> String {
    fn first_field(args: &[Arg]) -> Option<&str> {
        args.iter().find_map(|a| match a {
            Arg::Field(c) => c.last().map(String::as_str),
            Arg::Sub(p) => p.cmds.iter().find_map(|c| first_field(c)),
            _ => None,
        })
    }
    p.cmds
        .iter()
        .find_map(|c| first_field(c))
        .map(titles)
        .unwrap_or_default()
}

fn pipeline(ctx: &mut Ctx, p: &Pipeline, dot: &Value) -> Result<Val, EvalError> {
    let v = expr(ctx, &p.cmds, dot)?;
    if !p.vars.is_empty() {
        let value = v.clone().unwrap_or(Value::Null);
        for name in &p.vars {
            if p.declare {
                ctx.vars.push((name.clone(), value.clone()));
            } else if let Some(slot) = ctx.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = value.clone();
            } else {
                return Err(EvalError::UndefinedVariable(name.clone()));
            }
        }
    }
    Ok(v)
}

fn expr(ctx: &mut Ctx, cmds: &[Vec<Arg>], dot: &Value) -> Result<Val, EvalError> {
    let mut piped: Option<Val> = None;
    for cmd in cmds {
        piped = Some(command(ctx, cmd, dot, piped)?);
    }
    Ok(piped.flatten())
}

fn command(ctx: &mut Ctx, cmd: &[Arg], dot: &Value, piped: Option<Val>) -> Result<Val, EvalError> {
    let (head, rest) = cmd
        .split_first()
        .expect("parser never yields empty commands");
    match head {
        Arg::Func(name) => {
            let mut args = Vec::with_capacity(rest.len() + 1);
            for a in rest {
                args.push(operand(ctx, a, dot)?);
            }
            if let Some(p) = piped {
                args.push(p);
            }
            call(name, args)
        }
        Arg::Field(chain) if !rest.is_empty() || piped.is_some() => {
            // Methods of Docker's row objects: `.Label "key"`.
            let (last, base) = chain.split_last().expect("a method call names a field");
            let target = lookup(Some(dot.clone()), base);
            let mut args = Vec::new();
            for a in rest {
                args.push(operand(ctx, a, dot)?);
            }
            args.extend(piped);
            method(target, last, args)
        }
        _ if !rest.is_empty() || piped.is_some() => {
            Err(EvalError::NotAFunction(format!("{head:?}")))
        }
        _ => operand(ctx, head, dot),
    }
}

fn method(target: Val, name: &str, args: Vec<Val>) -> Result<Val, EvalError> {
    match (name, target) {
        ("Label", Some(Value::Object(obj))) => {
            let key = args
                .first()
                .cloned()
                .flatten()
                .map(|k| go_string(&Some(k)))
                .unwrap_or_default();
            let found = match obj.get("Labels") {
                Some(Value::Object(m)) => m.get(&key).map(|v| go_string(&Some(v.clone()))),
                Some(Value::String(s)) => s.split(',').find_map(|kv| {
                    kv.split_once('=')
                        .filter(|(k, _)| *k == key)
                        .map(|(_, v)| v.to_string())
                }),
                _ => None,
            };
            Ok(Some(Value::String(found.unwrap_or_default())))
        }
        (other, _) => Err(EvalError::NotAFunction(format!(".{other}"))),
    }
}

fn operand(ctx: &mut Ctx, a: &Arg, dot: &Value) -> Result<Val, EvalError> {
    Ok(match a {
        Arg::Field(chain) => lookup(Some(dot.clone()), chain),
        Arg::Var(name, chain) => {
            let base = if name.is_empty() {
                ctx.root.clone()
            } else {
                ctx.vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| EvalError::UndefinedVariable(name.clone()))?
            };
            lookup(Some(base), chain)
        }
        Arg::Func(name) => call(name, vec![])?,
        Arg::Str(s) => Some(Value::String(s.clone())),
        Arg::Int(n) => Some(Value::from(*n)),
        Arg::Float(f) => Some(Value::from(*f)),
        Arg::Bool(b) => Some(Value::Bool(*b)),
        Arg::Nil => Some(Value::Null),
        Arg::Sub(p) => pipeline(ctx, p, dot)?,
    })
}

fn lookup(mut v: Val, chain: &[String]) -> Val {
    for name in chain {
        v = match v {
            Some(Value::Object(m)) => field(&m, name),
            _ => None,
        };
    }
    v
}

fn field(m: &Map<String, Value>, name: &str) -> Val {
    m.get(name)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .cloned()
}

fn truthy(v: &Val) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// Prints a value as Go's `fmt.Sprint` would print the equivalent Go value.
pub fn go_string(v: &Val) -> String {
    match v {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|e| go_string(&Some(e.clone()))).collect();
            format!("[{}]", parts.join(" "))
        }
        Some(Value::Object(m)) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, e)| format!("{k}:{}", go_string(&Some(e.clone()))))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn bad(func: &str, msg: impl Into<String>) -> EvalError {
    EvalError::BadCall {
        func: func.into(),
        msg: msg.into(),
    }
}

fn want_args(func: &str, args: &[Val], n: usize) -> Result<(), EvalError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(bad(
            func,
            format!("wrong number of args: want {n} got {}", args.len()),
        ))
    }
}

fn as_str(v: &Val) -> String {
    go_string(v)
}

fn as_int(func: &str, v: &Val) -> Result<i64, EvalError> {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| bad(func, format!("{n} is not an integer"))),
        other => Err(bad(func, format!("{} is not an integer", go_string(other)))),
    }
}

fn call(name: &str, args: Vec<Val>) -> Result<Val, EvalError> {
    let s = |v: String| Ok(Some(Value::String(v)));
    match name {
        "json" => {
            want_args(name, &args, 1)?;
            s(serde_json::to_string(&args[0].clone().unwrap_or(Value::Null)).unwrap_or_default())
        }
        "index" => {
            let (first, keys) = args
                .split_first()
                .ok_or_else(|| bad(name, "wrong number of args"))?;
            let mut v = first.clone();
            for k in keys {
                v = match (v, k) {
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        let i = n
                            .as_u64()
                            .ok_or_else(|| bad(name, format!("index {n} out of range")))?;
                        Some(
                            a.get(i as usize)
                                .cloned()
                                .ok_or_else(|| bad(name, format!("index {i} out of range")))?,
                        )
                    }
                    (Some(Value::Object(m)), key) => {
                        Some(m.get(&as_str(key)).cloned().unwrap_or(Value::Null))
                    }
                    (None | Some(Value::Null), _) => Some(Value::Null),
                    (other, _) => {
                        return Err(bad(
                            name,
                            format!("can't index item of type {}", go_string(&other)),
                        ))
                    }
                };
            }
            Ok(v)
        }
        "join" => {
            want_args(name, &args, 2)?;
            let sep = as_str(&args[1]);
            match &args[0] {
                Some(Value::Array(a)) => s(a
                    .iter()
                    .map(|e| go_string(&Some(e.clone())))
                    .collect::<Vec<_>>()
                    .join(&sep)),
                None | Some(Value::Null) => s(String::new()),
                other => s(go_string(other)),
            }
        }
        "split" => {
            want_args(name, &args, 2)?;
            let parts = as_str(&args[0])
                .split(&as_str(&args[1]))
                .map(|p| Value::String(p.into()))
                .collect();
            Ok(Some(Value::Array(parts)))
        }
        "upper" => {
            want_args(name, &args, 1)?;
            s(as_str(&args[0]).to_uppercase())
        }
        "lower" => {
            want_args(name, &args, 1)?;
            s(as_str(&args[0]).to_lowercase())
        }
        "title" => {
            want_args(name, &args, 1)?;
            let mut out = String::new();
            let mut start = true;
            for c in as_str(&args[0]).chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            s(out)
        }
        "pad" => {
            want_args(name, &args, 3)?;
            let (l, r) = (
                as_int(name, &args[1])?.max(0) as usize,
                as_int(name, &args[2])?.max(0) as usize,
            );
            s(format!(
                "{}{}{}",
                " ".repeat(l),
                as_str(&args[0]),
                " ".repeat(r)
            ))
        }
        "truncate" => {
            want_args(name, &args, 2)?;
            let n = as_int(name, &args[1])?.max(0) as usize;
            s(as_str(&args[0]).chars().take(n).collect())
        }
        "len" => {
            want_args(name, &args, 1)?;
            let n = match &args[0] {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                Some(Value::String(t)) => t.len(),
                None | Some(Value::Null) => 0,
                other => return Err(bad(name, format!("len of {}", go_string(other)))),
            };
            Ok(Some(Value::from(n)))
        }
        "print" => s(sprint(&args)),
        "println" => s(args.iter().map(go_string).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            let (fmt, rest) = args
                .split_first()
                .ok_or_else(|| bad(name, "missing format"))?;
            s(printf(&as_str(fmt), rest))
        }
        "not" => {
            want_args(name, &args, 1)?;
            Ok(Some(Value::Bool(!truthy(&args[0]))))
        }
        "and" => Ok(args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .flatten()),
        "or" => Ok(args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .flatten()),
        "eq" => {
            let (first, rest) = args
                .split_first()
                .ok_or_else(|| bad(name, "missing argument for comparison"))?;
            Ok(Some(Value::Bool(rest.iter().any(|r| same(first, r)))))
        }
        "ne" => {
            want_args(name, &args, 2)?;
            Ok(Some(Value::Bool(!same(&args[0], &args[1]))))
        }
        "lt" | "le" | "gt" | "ge" => {
            want_args(name, &args, 2)?;
            let ord = order(&args[0], &args[1])
                .ok_or_else(|| bad(name, "incompatible types for comparison"))?;
            use std::cmp::Ordering::*;
            let r = match name {
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            };
            Ok(Some(Value::Bool(r)))
        }
        other => Err(EvalError::UnknownFunction(other.to_string())),
    }
}

fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Some(Value::String(x)), Some(Value::String(y))) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Go's Sprint: spaces between operands when neither side is a string.
fn sprint(args: &[Val]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Some(Value::String(_)));
        if i > 0 && !is_str && !matches!(args[i - 1], Some(Value::String(_))) {
            out.push(' ');
        }
        out.push_str(&go_string(a));
    }
    out
}

/// A small printf: flags `-`, `0`, width, precision; verbs s d v q f t x %.
fn printf(fmt: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            if n == '-' || n == '0' || n == '.' || n.is_ascii_digit() || n == '+' {
                spec.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        let left = spec.starts_with('-');
        let zero = spec.trim_start_matches('-').starts_with('0');
        let (w, prec): (usize, Option<usize>) =
            match spec.trim_start_matches(['-', '+', '0']).split_once('.') {
                Some((w, p)) => (w.parse().unwrap_or(0), p.parse::<usize>().ok()),
                None => (
                    spec.trim_start_matches(['-', '+', '0'])
                        .parse()
                        .unwrap_or(0),
                    None,
                ),
            };
        let body = match verb {
            'q' => serde_json::to_string(&as_str(arg)).unwrap_or_default(),
            'f' => {
                let f = match arg {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
                    _ => 0.0,
                };
                format!("{f:.*}", prec.unwrap_or(6))
            }
            'x' => match arg {
                Some(Value::Number(n)) if n.is_i64() => format!("{:x}", n.as_i64().unwrap_or(0)),
                other => as_str(other).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            's' => match prec {
                Some(p) => as_str(arg).chars().take(p).collect(),
                None => as_str(arg),
            },
            _ => as_str(arg),
        };
        let pad = w.saturating_sub(body.chars().count());
        if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&(if zero { "0" } else { " " }).repeat(pad));
            out.push_str(&body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printf_widths() {
        let args = [Some(json!("ab")), Some(json!(7)), Some(json!(1.25))];
        assert_eq!(printf("%-4s|%03d|%.1f|%%", &args), "ab  |007|1.2|%");
        assert_eq!(
            printf("%q %v", &[Some(json!("x")), Some(json!(true))]),
            "\"x\" true"
        );
        assert_eq!(printf("%s", &[]), "%!s(MISSING)");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[
                Some(json!(1)),
                Some(json!(2)),
                Some(json!("a")),
                Some(json!(3))
            ]),
            "1 2a3"
        );
    }
}
