//! HTML escaping.
//!
//! Every string in a result file came from a machine we do not control (host names,
//! error messages, backend names), so none of it reaches the page unescaped. The same
//! escaping is safe inside element text and inside double- or single-quoted attributes.

/// `text` with `& < > " '` replaced by entities.
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(html(r#"a<b&"c'd>"#), "a&lt;b&amp;&quot;c&#39;d&gt;");
        assert_eq!(html("plain"), "plain");
    }
}
