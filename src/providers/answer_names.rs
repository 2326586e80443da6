//! The `id` and `model` an answer names, read off its top-level keys without parsing it:
//! spend rows are found by the response id (LiteLLM's `get_spend_logs_id`) and an unpriced
//! deployment is priced by the model its answer names.

/// What [`answer_names`] found; each is the raw JSON string, unescaped only when it had no
/// escapes (ids and model names never do; one that does is left out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerNames<'a> {
    pub id: Option<&'a str>,
    pub model: Option<&'a str>,
}

/// The longest id or model name kept, in bytes; longer ones are left out.
const MAX_NAME: usize = 256;

/// The `id` and `model` of the first JSON object in `body`: a JSON answer, or a stream whose
/// first event carries them. Keys at the top level win; an object's `response` or `message`
/// member (the Responses and Messages APIs' first stream events) is read when the top level
/// lacks them. Stops as soon as both are found, so an OpenAI-shaped body (`id` and `model`
/// before `choices`) costs a few dozen bytes; malformed input yields what was found before.
pub fn answer_names(body: &[u8]) -> AnswerNames<'_> {
    let mut found = AnswerNames::default();
    if let Some(start) = memchr(b'{', body) {
        let mut s = Scan {
            b: body,
            i: start,
            inner: AnswerNames::default(),
        };
        let _ = s.object(&mut found, true);
        // Top-level names win; an inner one only fills a gap.
        found.id = found.id.or(s.inner.id);
        found.model = found.model.or(s.inner.model);
    }
    found
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// What a `response` / `message` member named.
    inner: AnswerNames<'a>,
}

/// Stops the scan: malformed input, or everything wanted found.
struct Stop;

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), Stop> {
        self.ws();
        if self.peek() != Some(c) {
            return Err(Stop);
        }
        self.i += 1;
        Ok(())
    }

    /// A string at the cursor (after its opening quote is checked): its raw contents and
    /// whether they held an escape.
    fn string(&mut self) -> Result<(&'a [u8], bool), Stop> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            match self.peek().ok_or(Stop)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        let raw = &self.b[start..self.i];
        self.i += 1;
        Ok((raw, escaped))
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Result<(), Stop> {
        self.ws();
        match self.peek().ok_or(Stop)? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek().ok_or(Stop)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek().ok_or(Stop)?,
                    b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'
                ) {
                    self.i += 1;
                }
                Ok(())
            }
        }
    }

    /// Reads one object, filling `found`; at the top level (`top`), `Err(Stop)` once both
    /// names are known there.
    fn object(&mut self, found: &mut AnswerNames<'a>, top: bool) -> Result<(), Stop> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let (key, _) = self.string()?;
            self.expect(b':')?;
            self.ws();
            let slot = match key {
                b"id" => Some(&mut found.id),
                b"model" => Some(&mut found.model),
                _ => None,
            };
            match slot {
                Some(slot) if self.peek() == Some(b'"') => {
                    let (raw, escaped) = self.string()?;
                    if !escaped && raw.len() <= MAX_NAME {
                        if let Ok(s) = std::str::from_utf8(raw) {
                            *slot = Some(s);
                        }
                    }
                }
                _ if top
                    && matches!(key, b"response" | b"message")
                    && self.peek() == Some(b'{') =>
                {
                    let mut inner = AnswerNames::default();
                    let read = self.object(&mut inner, false);
                    self.inner = inner;
                    read?;
                }
                _ => self.skip_value()?,
            }
            if top && found.id.is_some() && found.model.is_some() {
                return Err(Stop);
            }
            self.ws();
            match self.peek().ok_or(Stop)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Stop),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(body: &str) -> (Option<&str>, Option<&str>) {
        let n = answer_names(body.as_bytes());
        (n.id, n.model)
    }

    #[test]
    fn openai_and_azure_bodies() {
        let openai =
            r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[]}"#;
        assert_eq!(names(openai), (Some("chatcmpl-1"), Some("gpt-4o")));
        // Azure sends `choices` (with nested ids and quotes in text) before `id`.
        let azure = r#"{"choices":[{"message":{"content":"say \"id\": \"x\"","tool_calls":[{"id":"call_1"}]}}],
            "created": 1, "id": "chatcmpl-2", "model": "gpt-35-turbo", "usage": {"total_tokens": 3}}"#;
        assert_eq!(names(azure), (Some("chatcmpl-2"), Some("gpt-35-turbo")));
        // Embeddings have no id: the model alone.
        assert_eq!(
            names(r#"{"object":"list","data":[{"embedding":[0.1,-2e-3]}],"model":"e"}"#),
            (None, Some("e"))
        );
    }

    #[test]
    fn first_stream_event() {
        let chat =
            "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[]}\n\ndata: {\"id\":\"c2\"}\n\n";
        assert_eq!(names(chat), (Some("c1"), Some("m")));
        let messages = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"content\":[]}}\n\n";
        assert_eq!(names(messages), (Some("msg_1"), Some("claude")));
        let responses = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"output\":[{\"id\":\"x\"}],\"model\":\"gpt\"}}\n\n";
        assert_eq!(names(responses), (Some("resp_1"), Some("gpt")));
    }

    #[test]
    fn top_level_names_win_and_odd_values_are_left_out() {
        let b = r#"{"message":{"id":"inner","model":"inner-m"},"id":"outer"}"#;
        assert_eq!(names(b), (Some("outer"), Some("inner-m")));
        assert_eq!(names(r#"{"id":7,"model":null}"#), (None, None));
        assert_eq!(names(r#"{"id":"a\"b","model":"m"}"#), (None, Some("m")));
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(MAX_NAME + 1));
        assert_eq!(names(&long), (None, None));
        assert_eq!(names("no json here"), (None, None));
        assert_eq!(names(r#"{"id":"cut"#), (None, None));
        assert_eq!(names(r#"{"model":"m", "id""#), (None, Some("m")));
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = answer_names(&body);
        }

        #[test]
        fn agrees_with_serde(id in "[a-z0-9-]{0,12}", model in "[a-z0-9./-]{0,12}",
                             text in "\\PC{0,20}", azure in any::<bool>()) {
            let value = if azure {
                serde_json::json!({"choices": [{"message": {"content": text, "id": "no"}}], "id": id, "model": model})
            } else {
                serde_json::json!({"id": id, "model": model, "choices": [{"text": text}]})
            };
            let body = serde_json::to_vec(&value).unwrap();
            let n = answer_names(&body);
            prop_assert_eq!(n.id, Some(id.as_str()));
            prop_assert_eq!(n.model, Some(model.as_str()));
        }
    }
}
