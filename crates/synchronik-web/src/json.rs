//! A small JSON writer: objects and arrays written in order into one
//! string, commas placed by the writer. Numbers that are not finite are
//! written as `null`; the text never holds a raw line break, so it fits in
//! one `data:` line of an event stream.

use std::fmt::Write;

#[derive(Debug, Default)]
pub(crate) struct Json {
    out: String,
    /// A value was just written at this level: the next one needs a comma.
    comma: bool,
}

impl Json {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn sep(&mut self) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = true;
    }

    /// An object whose members `f` writes.
    pub(crate) fn object(&mut self, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.container('{', '}', f)
    }

    /// An array whose values `f` writes.
    pub(crate) fn array(&mut self, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.container('[', ']', f)
    }

    fn container(&mut self, open: char, close: char, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.sep();
        self.out.push(open);
        self.comma = false;
        f(self);
        self.out.push(close);
        self.comma = true;
        self
    }

    /// A member's name; its value comes next.
    pub(crate) fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        self.quoted(k);
        self.out.push(':');
        self.comma = false;
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.quoted(s);
        self
    }

    pub(crate) fn num(&mut self, n: f64) -> &mut Self {
        self.sep();
        if n.is_finite() {
            let _ = write!(self.out, "{n}");
        } else {
            self.out.push_str("null");
        }
        self
    }

    pub(crate) fn uint(&mut self, n: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{n}");
        self
    }

    pub(crate) fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.out.push_str(if b { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.sep();
        self.out.push_str("null");
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub(crate) fn opt_num(&mut self, n: Option<f64>) -> &mut Self {
        match n {
            Some(n) => self.num(n),
            None => self.null(),
        }
    }

    pub(crate) fn opt_uint(&mut self, n: Option<u64>) -> &mut Self {
        match n {
            Some(n) => self.uint(n),
            None => self.null(),
        }
    }

    fn quoted(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                // Control characters, and the two separators some
                // JavaScript parsers take for line breaks.
                c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn writes_nested_values_with_commas_and_escapes() {
        let mut j = Json::new();
        j.object(|j| {
            j.key("a").num(1.5);
            j.key("b").array(|j| {
                j.uint(1).null().bool(true);
                j.object(|_| {});
            });
            j.key("s\"").str("x\ny\u{1}\u{2028}é\\");
            j.key("n").num(f64::NAN);
            j.key("o").opt_str(None);
        });
        assert_eq!(
            j.finish(),
            r#"{"a":1.5,"b":[1,null,true,{}],"s\"":"x\ny\u0001\u2028é\\","n":null,"o":null}"#
        );
    }
}
