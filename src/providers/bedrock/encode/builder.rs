//! Building Converse's `messages` and `system` from the chat view: turns merged by side,
//! content parts mapped to blocks, tool calls and results.

use super::*;

/// Walks the conversation, building turns and counting documents for their names.
pub(super) struct Builder<'a> {
    pub(super) turns: Vec<Turn<'a>>,
    pub(super) system: Vec<SystemBlock<'a>>,
    pub(super) documents: usize,
    pub(super) anthropic: bool,
}

impl<'a> Builder<'a> {
    /// Append blocks to the last turn if it is on the same side, else open a new turn.
    pub(super) fn push(&mut self, role: Side, blocks: Vec<Block<'a>>) {
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => self.turns.push(Turn {
                role,
                content: blocks,
            }),
        }
    }

    /// An `image_url` part: an image, or a document when the data URL is one.
    pub(super) fn media(&mut self, url: &'a str) -> Result<Block<'a>, ApiError> {
        let Some((media, data)) = data_url(url) else {
            return Err(ApiError::bad_request(format!(
                "litellm.BadRequestError: bedrock accepts images only as base64 data URLs \
                 (data:image/png;base64,...), not {}",
                shorten(url)
            ))
            .with_param("messages"));
        };
        if let Some(format) = image_format(media) {
            return Ok(Block::Image(Image {
                format,
                source: Source { bytes: data },
            }));
        }
        if let Some(format) = document_format(media) {
            self.documents += 1;
            return Ok(Block::Document(Document {
                format,
                name: document_name(None, self.documents),
                source: Source { bytes: data },
            }));
        }
        Err(unsupported_part(&format!("{media} image_url")))
    }

    pub(super) fn part(&mut self, part: &'a Part<'a>) -> Result<Option<Block<'a>>, ApiError> {
        Ok(match part {
            Part::Text { text } if text.is_empty() => None,
            Part::Text { text } => Some(Block::Text(text)),
            Part::Refusal { refusal } if refusal.is_empty() => None,
            Part::Refusal { refusal } => Some(Block::Text(refusal)),
            Part::ImageUrl { image_url } => Some(self.media(image_url.url())?),
            Part::File { file } => {
                let Some((media, data)) = file.file_data.as_deref().and_then(data_url) else {
                    return Err(unsupported_part("file (only file_data as a data URL)"));
                };
                if let Some(format) = image_format(media) {
                    return Ok(Some(Block::Image(Image {
                        format,
                        source: Source { bytes: data },
                    })));
                }
                let Some(format) = document_format(media) else {
                    return Err(unsupported_part(&format!("{media} file")));
                };
                self.documents += 1;
                Some(Block::Document(Document {
                    format,
                    name: document_name(file.filename.as_deref(), self.documents),
                    source: Source { bytes: data },
                }))
            }
            Part::InputAudio { .. } => return Err(unsupported_part("input_audio")),
            #[allow(
                unreachable_patterns,
                reason = "part kinds added to the neutral types later are refused too"
            )]
            _ => return Err(unsupported_part("this kind of")),
        })
    }

    pub(super) fn blocks(
        &mut self,
        content: &'a Option<Content<'a>>,
    ) -> Result<Vec<Block<'a>>, ApiError> {
        match content {
            None => Ok(Vec::new()),
            Some(Content::Text(t)) if t.is_empty() => Ok(Vec::new()),
            Some(Content::Text(t)) => Ok(vec![Block::Text(t)]),
            Some(Content::Parts(parts)) => {
                let mut out = Vec::with_capacity(parts.len());
                for p in parts {
                    out.extend(self.part(p)?);
                }
                Ok(out)
            }
        }
    }

    pub(super) fn system(&mut self, m: &'a Message<'a>) -> Result<(), ApiError> {
        for b in self.blocks(&m.content)? {
            match b {
                Block::Text(text) => self.system.push(SystemBlock { text }),
                _ => {
                    return Err(ApiError::bad_request(
                        "litellm.BadRequestError: bedrock system messages take text only",
                    )
                    .with_param("messages"))
                }
            }
        }
        Ok(())
    }

    pub(super) fn assistant(&mut self, m: &'a Message<'a>) -> Result<(), ApiError> {
        let mut blocks = self.blocks(&m.content)?;
        for call in m.tool_calls.iter().flatten() {
            blocks.push(Block::ToolUse(ToolUse {
                tool_use_id: call.id.as_deref().unwrap_or_default(),
                name: &call.function.name,
                input: call.function.arguments_value(),
            }));
        }
        self.push(Side::Assistant, blocks);
        Ok(())
    }

    pub(super) fn tool_result(&mut self, m: &'a Message<'a>) -> Result<(), ApiError> {
        let id = m.tool_call_id.as_deref().or(m.name.as_deref());
        let mut content = Vec::new();
        match &m.content {
            Some(Content::Text(t)) => content.push(result_text(t)),
            Some(Content::Parts(_)) => {
                for b in self.blocks(&m.content)? {
                    content.push(match b {
                        Block::Text(t) => ResultBlock::Text(t),
                        Block::Image(i) => ResultBlock::Image(i),
                        Block::Document(d) => ResultBlock::Document(d),
                        Block::ToolUse(_) | Block::ToolResult(_) => continue,
                    });
                }
            }
            None => {}
        }
        if content.is_empty() {
            // Bedrock rejects blank text; an empty result is still a result.
            content.push(ResultBlock::Text("(no output)"));
        }
        self.push(
            Side::User,
            vec![Block::ToolResult(ToolResult {
                tool_use_id: id.unwrap_or_default(),
                content,
                status: self.anthropic.then_some("success"),
            })],
        );
        Ok(())
    }
}
