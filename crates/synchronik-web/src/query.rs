//! Paths and query strings, decoded strictly: bad percent-encoding, text
//! that is not UTF-8, `.` or `..` segments, repeated, unknown or oversized
//! parameters are refused with a message that says what was wrong.

/// The longest query string taken.
pub(crate) const MAX_QUERY: usize = 4096;
/// The longest value of one parameter.
pub(crate) const MAX_VALUE: usize = 1024;

/// Decodes `%XX` escapes (and, in a query, `+` as a space).
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                // Two hex digits (`from_str_radix` alone would take `+1`).
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => {
                        let end = (i + 3).min(bytes.len());
                        return Err(format!(
                            "bad percent-encoding \"{}\"",
                            String::from_utf8_lossy(&bytes[i..end])
                        ));
                    }
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".to_owned())
}

/// The segments of `path` (relative to the base path), decoded. An empty
/// path has no segments.
pub(crate) fn segments(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('/')
        .map(|raw| {
            let s = percent_decode(raw, false)?;
            if s == "." || s == ".." {
                return Err(format!("a path may not hold \"{s}\""));
            }
            Ok(s)
        })
        .collect()
}

/// A query string's parameters, checked against the names a path takes.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `query`; every name must be one of `allowed` (or `token`),
    /// and appear once.
    pub(crate) fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, String> {
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(Self::default());
        };
        if query.len() > MAX_QUERY {
            return Err(format!(
                "the query string is {} bytes long; at most {MAX_QUERY} are taken",
                query.len()
            ));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = percent_decode(k, true)?;
            let v = percent_decode(v, true)?;
            if k != "token" && !allowed.contains(&k.as_str()) {
                let known = if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                };
                return Err(format!(
                    "unknown query parameter \"{}\" (this path takes: {known})",
                    shorten(&k)
                ));
            }
            if v.len() > MAX_VALUE {
                return Err(format!(
                    "query parameter \"{k}\" is {} bytes long; at most {MAX_VALUE} are taken",
                    v.len()
                ));
            }
            if pairs.iter().any(|(name, _)| *name == k) {
                return Err(format!("query parameter \"{k}\" is given more than once"));
            }
            pairs.push((k, v));
        }
        Ok(Self { pairs })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: 1–500, default 50.
    pub(crate) fn limit(&self) -> Result<usize, String> {
        match self.get("limit") {
            None => Ok(50),
            Some(v) => match digits(v).and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if (1..=500).contains(&n) => Ok(n),
                _ => Err(format!(
                    "query parameter \"limit\" must be an integer from 1 to 500, got \"{}\"",
                    shorten(v)
                )),
            },
        }
    }

    /// `cursor` as a number up to `max` (cursors are numbers written by
    /// the previous page).
    pub(crate) fn cursor(&self, max: u64) -> Result<Option<u64>, String> {
        match self.get("cursor") {
            None | Some("") => Ok(None),
            Some(v) => match digits(v).and_then(|v| v.parse::<u64>().ok()) {
                Some(n) if n <= max => Ok(Some(n)),
                _ => Err(format!(
                    "query parameter \"cursor\" must be the nextCursor of a previous page, got \"{}\"",
                    shorten(v)
                )),
            },
        }
    }

    /// A parameter that must be one of `names` when given (empty: not given).
    pub(crate) fn one_of<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Result<Option<T>, String> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| {
                format!(
                    "query parameter \"{name}\" must be one of {}, got \"{}\"",
                    names.join(", "),
                    shorten(v)
                )
            }),
        }
    }
}

/// `v` when it is digits only (`parse` alone would take a leading `+`).
fn digits(v: &str) -> Option<&str> {
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then_some(v)
}

/// `s` cut to 64 characters for a message.
pub(crate) fn shorten(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb+c", false).unwrap(), "a/b+c");
        assert_eq!(percent_decode("a%2Fb+c", true).unwrap(), "a/b c");
        assert_eq!(percent_decode("%C3%A9", false).unwrap(), "é");
        assert!(percent_decode("%zz", false).is_err());
        assert!(percent_decode("%4", false).is_err());
        assert!(percent_decode("%", false).is_err());
        assert!(percent_decode("%FF", false).is_err());
        for bad in ["%+1", "%-1", "%+F", "x%+0y"] {
            assert!(percent_decode(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_refuse_dot_segments_even_encoded() {
        assert_eq!(
            segments("api/units/a%2Fb").unwrap(),
            ["api", "units", "a/b"]
        );
        assert!(segments("api/../x").is_err());
        assert!(segments("api/%2E%2E/x").is_err());
        assert!(segments("./x").is_err());
        assert!(segments("").unwrap().is_empty());
    }

    #[test]
    fn params_are_known_once_and_bounded() {
        let p = Params::parse(Some("limit=5&q=a+b&token=t"), &["limit", "q"]).unwrap();
        assert_eq!(p.limit().unwrap(), 5);
        assert_eq!(p.get("q"), Some("a b"));
        assert!(Params::parse(Some("nope=1"), &["limit"]).is_err());
        assert!(Params::parse(Some("q=1&q=2"), &["q"]).is_err());
        let huge = format!("q={}", "x".repeat(MAX_VALUE + 1));
        assert!(Params::parse(Some(&huge), &["q"]).is_err());
        assert!(Params::parse(Some(&"&".repeat(MAX_QUERY + 1)), &[]).is_err());
        for bad in ["0", "501", "-1", "x", "1e3", "+1", " 1"] {
            let p = Params::parse(Some(&format!("limit={bad}")), &["limit"]).unwrap();
            assert!(p.limit().is_err(), "{bad}");
        }
        let p = Params::parse(Some("cursor=12"), &["cursor"]).unwrap();
        assert_eq!(p.cursor(100).unwrap(), Some(12));
        assert!(p.cursor(5).is_err());
        let p = Params::parse(Some("cursor=%2B12"), &["cursor"]).unwrap();
        assert!(p.cursor(100).is_err());
    }
}
