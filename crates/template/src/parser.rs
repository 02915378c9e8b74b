//! Builds the node tree from lexed items: text, output actions and control structures.

use crate::lexer::{Item, Tok};

/// Why a format string could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("unclosed action: missing \"}}}}\"")]
    Unclosed,
    #[error("unterminated quoted string")]
    UnterminatedString,
    #[error("invalid escape \\{0} in string")]
    BadEscape(char),
    #[error("bad number syntax: {0:?}")]
    BadNumber(String),
    #[error("unexpected {0:?} in action")]
    UnexpectedChar(char),
    #[error("unexpected EOF: missing {{{{end}}}}")]
    MissingEnd,
    #[error("unexpected {{{{{0}}}}}")]
    Unexpected(String),
    #[error("missing value for {0}")]
    Empty(&'static str),
    #[error("unexpected {0} in operand")]
    BadOperand(String),
}

/// One operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Sub(Pipeline),
}

/// `a | b c | d`, optionally declaring or assigning variables first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    pub vars: Vec<String>,
    pub declare: bool,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Output(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Range {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    End,
    Else(Option<Vec<Tok>>),
}

pub fn parse(items: &[Item]) -> Result<Vec<Node>, ParseError> {
    let mut pos = 0;
    let (nodes, stop) = list(items, &mut pos)?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End => Err(ParseError::Unexpected("end".into())),
        Stop::Else(_) => Err(ParseError::Unexpected("else".into())),
    }
}

fn list(items: &[Item], pos: &mut usize) -> Result<(Vec<Node>, Stop), ParseError> {
    let mut nodes = Vec::new();
    while *pos < items.len() {
        let item = &items[*pos];
        *pos += 1;
        let toks = match item {
            Item::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Item::Action(toks) => toks,
        };
        match toks.first() {
            Some(Tok::Ident(k)) if k == "end" => return Ok((nodes, Stop::End)),
            Some(Tok::Ident(k)) if k == "else" => {
                let rest = (toks.len() > 1).then(|| toks[1..].to_vec());
                return Ok((nodes, Stop::Else(rest)));
            }
            Some(Tok::Ident(k)) if k == "if" => nodes.push(parse_if(&toks[1..], items, pos)?),
            Some(Tok::Ident(k)) if k == "range" || k == "with" => {
                let pipe = pipeline(&toks[1..])?;
                let (body, stop) = list(items, pos)?;
                let otherwise = match stop {
                    Stop::End => Vec::new(),
                    Stop::Else(None) => expect_end(items, pos)?,
                    Stop::Else(Some(_)) => return Err(ParseError::Unexpected("else if".into())),
                    Stop::Eof => return Err(ParseError::MissingEnd),
                };
                nodes.push(if k == "range" {
                    Node::Range {
                        pipe,
                        body,
                        otherwise,
                    }
                } else {
                    Node::With {
                        pipe,
                        body,
                        otherwise,
                    }
                });
            }
            Some(_) => nodes.push(Node::Output(pipeline(toks)?)),
            None => return Err(ParseError::Empty("command")),
        }
    }
    Ok((nodes, Stop::Eof))
}

fn expect_end(items: &[Item], pos: &mut usize) -> Result<Vec<Node>, ParseError> {
    match list(items, pos)? {
        (nodes, Stop::End) => Ok(nodes),
        (_, Stop::Eof) => Err(ParseError::MissingEnd),
        (_, Stop::Else(_)) => Err(ParseError::Unexpected("else".into())),
    }
}

fn parse_if(cond: &[Tok], items: &[Item], pos: &mut usize) -> Result<Node, ParseError> {
    let mut branches = vec![];
    let mut cond = pipeline(cond)?;
    loop {
        let (body, stop) = list(items, pos)?;
        branches.push((cond, body));
        match stop {
            Stop::End => {
                return Ok(Node::If {
                    branches,
                    otherwise: vec![],
                })
            }
            Stop::Eof => return Err(ParseError::MissingEnd),
            Stop::Else(None) => {
                let otherwise = expect_end(items, pos)?;
                return Ok(Node::If {
                    branches,
                    otherwise,
                });
            }
            Stop::Else(Some(rest)) => match rest.first() {
                Some(Tok::Ident(k)) if k == "if" => cond = pipeline(&rest[1..])?,
                _ => return Err(ParseError::Unexpected("else".into())),
            },
        }
    }
}

fn pipeline(toks: &[Tok]) -> Result<Pipeline, ParseError> {
    let mut p = Pipeline::default();
    let mut rest = toks;
    // `$x :=`, `$i, $v :=`, `$x =`
    let decl_at = toks
        .iter()
        .position(|t| matches!(t, Tok::Declare | Tok::Assign));
    if let Some(at) = decl_at {
        let lhs = &toks[..at];
        if !lhs.is_empty()
            && lhs
                .iter()
                .all(|t| matches!(t, Tok::Var(_, c) if c.is_empty()) || *t == Tok::Comma)
        {
            p.vars = lhs
                .iter()
                .filter_map(|t| match t {
                    Tok::Var(n, _) => Some(n.clone()),
                    _ => None,
                })
                .collect();
            p.declare = toks[at] == Tok::Declare;
            rest = &toks[at + 1..];
        }
    }
    let mut i = 0;
    let mut cmd = Vec::new();
    while i < rest.len() {
        match &rest[i] {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return Err(ParseError::Empty("command in pipeline"));
                }
                p.cmds.push(std::mem::take(&mut cmd));
            }
            Tok::LParen => {
                let close = matching_paren(rest, i)?;
                cmd.push(Arg::Sub(pipeline(&rest[i + 1..close])?));
                i = close;
            }
            t => cmd.push(operand(t)?),
        }
        i += 1;
    }
    if cmd.is_empty() {
        return Err(ParseError::Empty("command"));
    }
    p.cmds.push(cmd);
    Ok(p)
}

fn matching_paren(toks: &[Tok], open: usize) -> Result<usize, ParseError> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
    }
    Err(ParseError::BadOperand("unclosed '('".into()))
}

fn operand(t: &Tok) -> Result<Arg, ParseError> {
    Ok(match t {
        Tok::Field(c) => Arg::Field(c.clone()),
        Tok::Var(n, c) => Arg::Var(n.clone(), c.clone()),
        Tok::Ident(s) if s == "true" => Arg::Bool(true),
        Tok::Ident(s) if s == "false" => Arg::Bool(false),
        Tok::Ident(s) if s == "nil" => Arg::Nil,
        Tok::Ident(s) => Arg::Func(s.clone()),
        Tok::Str(s) => Arg::Str(s.clone()),
        Tok::Int(n) => Arg::Int(*n),
        Tok::Float(f) => Arg::Float(*f),
        other => return Err(ParseError::BadOperand(format!("{other:?}"))),
    })
}
