//! Splits a template into text and actions, and actions into tokens.

use crate::parser::ParseError;

/// One piece of an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `.`, `.A`, `.A.B` — the names after the dot (empty for `.` alone).
    Field(Vec<String>),
    /// `$`, `$x`, `$x.A` — variable name ("" for `$`) and the field chain after it.
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// Text between actions, or one action's tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    Action(Vec<Tok>),
}

/// Lexes a whole template, applying `{{-` and `-}}` trimming.
pub fn lex(src: &str) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            push_text(&mut items, rest, trim_next_text);
            break;
        };
        let mut text = &rest[..open];
        let after_open = &rest[open + 2..];
        let (trim_left, body_start) = match after_open.strip_prefix("- ") {
            Some(b) => (true, b),
            None => (false, after_open),
        };
        if trim_left {
            text = text.trim_end();
        }
        push_text(&mut items, text, trim_next_text);
        let close = body_start.find("}}").ok_or(ParseError::Unclosed)?;
        let mut body = &body_start[..close];
        trim_next_text = false;
        if let Some(b) = body.strip_suffix(" -") {
            body = b;
            trim_next_text = true;
        }
        rest = &body_start[close + 2..];
        let body = body.trim();
        if body.starts_with("/*") {
            continue; // a comment
        }
        items.push(Item::Action(lex_action(body)?));
    }
    Ok(items)
}

fn push_text(items: &mut Vec<Item>, text: &str, trim_start: bool) {
    let t = if trim_start { text.trim_start() } else { text };
    if !t.is_empty() {
        items.push(Item::Text(t.to_string()));
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads `.A.B.C` starting at a '.'; returns the names and the bytes consumed.
fn field_chain(s: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() && b[i] == b'.' {
        let start = i + 1;
        let mut j = start;
        while j < s.len() && s[j..].chars().next().is_some_and(is_ident_char) {
            j += s[j..].chars().next().map_or(1, char::len_utf8);
        }
        if j == start {
            // A lone '.' (only valid as the whole chain).
            if names.is_empty() {
                i = start;
            }
            break;
        }
        names.push(s[start..j].to_string());
        i = j;
    }
    (names, i)
}

fn lex_action(s: &str) -> Result<Vec<Tok>, ParseError> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1
            }
            '|' => {
                toks.push(Tok::Pipe);
                i += 1
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1
            }
            ':' if s[i..].starts_with(":=") => {
                toks.push(Tok::Declare);
                i += 2
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1
            }
            '.' if !s[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => {
                let (names, n) = field_chain(&s[i..]);
                toks.push(Tok::Field(names));
                i += n;
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < s.len() && s[j..].chars().next().is_some_and(is_ident_char) {
                    j += s[j..].chars().next().map_or(1, char::len_utf8);
                }
                let name = s[start..j].to_string();
                let (chain, n) = if s[j..].starts_with('.') {
                    field_chain(&s[j..])
                } else {
                    (vec![], 0)
                };
                toks.push(Tok::Var(name, chain));
                i = j + n;
            }
            '"' => {
                let (text, n) = quoted(&s[i..])?;
                toks.push(Tok::Str(text));
                i += n;
            }
            '`' => {
                let end = s[i + 1..].find('`').ok_or(ParseError::UnterminatedString)?;
                toks.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let end = s[i..]
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+')
                    })
                    .map_or(s.len(), |e| i + e);
                let word = &s[i..end];
                if let Ok(n) = word.parse::<i64>() {
                    toks.push(Tok::Int(n));
                } else if let Ok(f) = word.parse::<f64>() {
                    toks.push(Tok::Float(f));
                } else {
                    return Err(ParseError::BadNumber(word.to_string()));
                }
                i = end;
            }
            c if is_ident_char(c) => {
                let end = s[i..]
                    .find(|c: char| !is_ident_char(c))
                    .map_or(s.len(), |e| i + e);
                toks.push(Tok::Ident(s[i..end].to_string()));
                i = end;
            }
            other => return Err(ParseError::UnexpectedChar(other)),
        }
    }
    Ok(toks)
}

/// Parses a Go double-quoted string at the start of `s`; returns it and its length.
fn quoted(s: &str) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some(o) => return Err(ParseError::BadEscape(o)),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(ParseError::UnterminatedString)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_fields_vars_and_literals() {
        let items = lex(r#"a{{index .Config.Labels "k" | upper}}{{$x := $.A}}b"#).unwrap();
        assert_eq!(items[0], Item::Text("a".into()));
        assert_eq!(
            items[1],
            Item::Action(vec![
                Tok::Ident("index".into()),
                Tok::Field(vec!["Config".into(), "Labels".into()]),
                Tok::Str("k".into()),
                Tok::Pipe,
                Tok::Ident("upper".into()),
            ])
        );
        assert_eq!(
            items[2],
            Item::Action(vec![
                Tok::Var("x".into(), vec![]),
                Tok::Declare,
                Tok::Var("".into(), vec!["A".into()])
            ])
        );
        assert_eq!(items[3], Item::Text("b".into()));
        assert_eq!(
            lex("{{.}}").unwrap(),
            vec![Item::Action(vec![Tok::Field(vec![])])]
        );
        assert_eq!(
            lex("{{-3}}").unwrap(),
            vec![Item::Action(vec![Tok::Int(-3)])]
        );
    }
}
