//! Go-template `--format` strings as Docker users write them, evaluated over JSON.
//!
//! Docker formats `ps`, `images`, `inspect -f` and friends with Go's `text/template`.
//! Berth's objects are JSON values with Docker's field names, so this crate parses the
//! subset of the template language people actually use and evaluates it against a
//! [`serde_json::Value`]:
//!
//! - field chains `{{.State.Running}}`, `{{.}}`, `$` (the root), variables `{{$x := .A}}`
//! - pipelines `{{.Names | upper}}` and calls `{{index .Config.Labels "k"}}`
//! - `if`/`else if`/`else`, `range` (with `$i, $v :=`), `with`, `end`, trim markers `{{-`/`-}}`
//! - Docker's functions: `json`, `index`, `join`, `split`, `upper`, `lower`, `title`,
//!   `pad`, `truncate`, `len`, `println`, `print`, `printf`, comparisons `eq ne lt le gt ge`,
//!   `and`, `or`, `not`
//! - the `.Label "k"` method of `ps`/`images` rows (looks `k` up in `Labels`)
//! - `table` formats with a header row and tab-aligned columns ([`render_rows`]).

mod eval;
mod lexer;
mod parser;
mod tabwriter;

pub use eval::EvalError;
pub use parser::ParseError;

use serde_json::Value;

/// Everything that can go wrong with a format string.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template parsing error: {0}")]
    Parse(#[from] ParseError),
    #[error("template: {0}")]
    Eval(#[from] EvalError),
}

/// A parsed format string, reusable for many values.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parser::Node>,
    table: bool,
}

impl Template {
    /// Parses `text`. A leading `table` keyword (Docker's) is recognised and removed.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.trim_start_matches([' ', '\t']))
            }
            _ => (false, text),
        };
        let body = unescape_docker(body);
        let nodes = parser::parse(&lexer::lex(&body)?)?;
        Ok(Template { nodes, table })
    }

    /// Whether the format began with `table`.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Evaluates the template with `value` as `.`.
    pub fn execute(&self, value: &Value) -> Result<String, TemplateError> {
        Ok(eval::execute(&self.nodes, value, eval::Mode::Value)?)
    }

    /// Evaluates the template in header mode: every field chain yields its header title.
    fn execute_header(&self, titles: &dyn Fn(&str) -> String) -> Result<String, TemplateError> {
        Ok(eval::execute(
            &self.nodes,
            &Value::Null,
            eval::Mode::Header(titles),
        )?)
    }
}

/// Docker lets users write `\t` and `\n` literally on the command line.
fn unescape_docker(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

/// Renders one value, as `inspect -f` does. `json` alone means `{{json .}}`.
pub fn render(template: &str, value: &Value) -> Result<String, TemplateError> {
    if template.trim() == "json" {
        return Ok(value.to_string());
    }
    Template::parse(template)?.execute(value)
}

/// Default header title for a field name: Docker's style, `CreatedAt` → `CREATED AT`,
/// `ID` stays `ID`.
pub fn default_title(field: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = field.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase());
        if boundary {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// Renders rows as `ps`/`images`/`network ls` do: `json` gives one JSON object per line;
/// a `table …` format gives a header line (field titles from `titles`, falling back to
/// [`default_title`]) and tab-aligned columns; any other format gives one line per row.
pub fn render_rows(
    template: &str,
    rows: &[Value],
    titles: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    if template.trim() == "json" {
        let mut out = String::new();
        for r in rows {
            out.push_str(&r.to_string());
            out.push('\n');
        }
        return Ok(out);
    }
    let tpl = Template::parse(template)?;
    let mut lines = String::new();
    let title = |f: &str| titles(f).unwrap_or_else(|| default_title(f));
    if tpl.is_table() {
        lines.push_str(&tpl.execute_header(&title)?);
        lines.push('\n');
    }
    for r in rows {
        lines.push_str(&tpl.execute(r)?);
        lines.push('\n');
    }
    if tpl.is_table() {
        Ok(tabwriter::align(&lines, 10, 3))
    } else {
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: &Value) -> String {
        render(t, v).unwrap()
    }

    #[test]
    fn fields_and_nested_fields() {
        let v = json!({"State": {"Running": true, "Pid": 42}, "Name": "/web"});
        assert_eq!(r("{{.State.Running}}", &v), "true");
        assert_eq!(
            r("pid={{.State.Pid}} name={{.Name}}", &v),
            "pid=42 name=/web"
        );
        assert_eq!(r("{{.Missing}}", &v), "<no value>");
    }

    #[test]
    fn index_json_join() {
        let v = json!({"Config": {"Labels": {"k": "v", "a.b": "c"}, "Cmd": ["sh", "-c", "x"]},
                       "RepoDigests": ["a@sha256:1", "b@sha256:2"]});
        assert_eq!(r(r#"{{index .Config.Labels "k"}}"#, &v), "v");
        assert_eq!(r(r#"{{index .Config.Labels "a.b"}}"#, &v), "c");
        assert_eq!(r("{{json .Config.Cmd}}", &v), r#"["sh","-c","x"]"#);
        assert_eq!(
            r(r#"{{join .RepoDigests " "}}"#, &v),
            "a@sha256:1 b@sha256:2"
        );
        assert_eq!(r("{{index .Config.Cmd 1}}", &v), "-c");
        assert_eq!(r("json", &json!({"a": 1})), r#"{"a":1}"#);
    }

    #[test]
    fn label_method() {
        let v = json!({"Labels": {"com.example": "yes"}});
        assert_eq!(r(r#"{{.Label "com.example"}}"#, &v), "yes");
        assert_eq!(r(r#"{{.Label "nope"}}"#, &v), "");
    }

    #[test]
    fn pipes_and_string_functions() {
        let v = json!({"Name": "web", "Id": "0123456789abcdef"});
        assert_eq!(r("{{.Name | upper}}", &v), "WEB");
        assert_eq!(
            r("{{upper .Name}}-{{lower \"AB\"}}-{{title .Name}}", &v),
            "WEB-ab-Web"
        );
        assert_eq!(r("{{truncate .Id 4}}", &v), "0123");
        assert_eq!(r(r#"{{split "a,b" ","}}"#, &v), "[a b]");
        assert_eq!(r(r#"{{printf "%s:%d" .Name 7}}"#, &v), "web:7");
        assert_eq!(r("{{len .Name}}", &v), "3");
        assert_eq!(r("{{println .Name}}", &v), "web\n");
    }

    #[test]
    fn control_flow() {
        let v = json!({"On": true, "Off": false, "List": ["a", "b"], "M": {"x": 1}, "E": []});
        assert_eq!(r("{{if .On}}yes{{else}}no{{end}}", &v), "yes");
        assert_eq!(
            r("{{if .Off}}yes{{else if .On}}mid{{else}}no{{end}}", &v),
            "mid"
        );
        assert_eq!(r("{{range .List}}[{{.}}]{{end}}", &v), "[a][b]");
        assert_eq!(
            r("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", &v),
            "0=a 1=b "
        );
        assert_eq!(r("{{range $k, $v := .M}}{{$k}}:{{$v}}{{end}}", &v), "x:1");
        assert_eq!(r("{{range .E}}x{{else}}empty{{end}}", &v), "empty");
        assert_eq!(r("{{with .M}}{{.x}}{{end}}", &v), "1");
        assert_eq!(
            r(
                "{{if eq .List.0 \"a\"}}first{{end}}",
                &json!({"List": {"0": "a"}})
            ),
            "first"
        );
        assert_eq!(r("{{if and .On (not .Off)}}ok{{end}}", &v), "ok");
        assert_eq!(r("{{$x := .M.x}}{{$x}}{{$.On}}", &v), "1true");
    }

    #[test]
    fn trim_markers_and_escapes() {
        let v = json!({"A": 1});
        assert_eq!(r("a  {{- .A -}}  b", &v), "a1b");
        assert_eq!(r("{{.A}}\\t{{.A}}", &v), "1\t1");
    }

    #[test]
    fn numbers_render_like_go() {
        let v = json!({"I": 3, "F": 1.5, "N": null, "Big": 1700000000u64});
        assert_eq!(r("{{.I}} {{.F}} {{.Big}}", &v), "3 1.5 1700000000");
        assert_eq!(r("{{.N}}", &v), "<nil>");
        assert_eq!(
            r("{{.}}", &json!({"a": 1, "b": [1, 2]})),
            "map[a:1 b:[1 2]]"
        );
    }

    #[test]
    fn table_header_and_alignment() {
        let rows = vec![
            json!({"ID": "abc", "Image": "busybox", "Names": "web"}),
            json!({"ID": "defghi", "Image": "alpine:3", "Names": "db"}),
        ];
        let titles = |f: &str| match f {
            "ID" => Some("CONTAINER ID".to_string()),
            _ => None,
        };
        let out = render_rows("table {{.ID}}\t{{.Image}}\t{{.Names}}", &rows, &titles).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "CONTAINER ID   IMAGE      NAMES");
        assert_eq!(lines[1], "abc            busybox    web");
        assert_eq!(lines[2], "defghi         alpine:3   db");
        let json_out = render_rows("json", &rows, &titles).unwrap();
        assert_eq!(json_out.lines().count(), 2);
        let plain = render_rows("{{.ID}}:{{.Names}}", &rows, &titles).unwrap();
        assert_eq!(plain, "abc:web\ndefghi:db\n");
    }

    #[test]
    fn default_titles() {
        assert_eq!(default_title("CreatedAt"), "CREATED AT");
        assert_eq!(default_title("ID"), "ID");
        assert_eq!(default_title("RunningFor"), "RUNNING FOR");
        assert_eq!(default_title("IPAddress"), "IP ADDRESS");
    }

    #[test]
    fn errors_are_clear() {
        let e = Template::parse("{{.A").unwrap_err().to_string();
        assert!(e.contains("unclosed action"), "{e}");
        let e = Template::parse("{{if .A}}x").unwrap_err().to_string();
        assert!(e.contains("unexpected EOF"), "{e}");
        let e = render("{{nosuch .A}}", &json!({})).unwrap_err().to_string();
        assert!(e.contains("function \"nosuch\" not defined"), "{e}");
        let e = render("{{index .A 5}}", &json!({"A": [1]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{e}");
    }
}
