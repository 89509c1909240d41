//! Which messages a pull returns: tag filters, and SQL92 filters on message properties when
//! `enablePropertyFilter=true`. SQL92 expressions are compiled once per group and topic and
//! reused while the consumer's expression stays the same. Also answers CHECK_CLIENT_CONFIG,
//! which Java consumers send at start to learn whether the broker accepts their expression.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmq_filter::{Expression, FilterError, EXPRESSION_TYPE_SQL92, EXPRESSION_TYPE_TAG};
use rmq_remoting::body::client::CheckClientRequestBody;
use rmq_remoting::fastjson;
use rmq_remoting::message::{decode_record, property_value, TagSubscription};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::MessageFilter;

use crate::processor::handler;
use crate::state::BrokerContext;

/// The filter one pull applies.
pub enum PullFilter {
    /// Tag hash codes, checked on consume-queue entries.
    Tag(TagSubscription),
    /// An SQL92 condition, checked on each record's properties.
    Sql(Arc<Expression>),
}

impl MessageFilter for PullFilter {
    fn matches_tag_code(&self, tag_code: i64) -> bool {
        match self {
            PullFilter::Tag(tags) => tags.matches_code(tag_code),
            PullFilter::Sql(_) => true,
        }
    }

    fn matches_record(&self, record: &[u8]) -> bool {
        let PullFilter::Sql(expression) = self else {
            return true;
        };
        match decode_record(record, false) {
            Ok(view) => expression.matches(|name| property_value(view.properties, name)),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable record skipped by the SQL92 filter");
                false
            }
        }
    }
}

/// Compiled SQL92 subscriptions by (group, topic), recompiled when the expression changes.
#[derive(Default)]
pub struct FilterCache {
    compiled: Mutex<HashMap<(String, String), Arc<Expression>>>,
}

impl FilterCache {
    /// The compiled form of `text` for `group`/`topic`.
    fn get(&self, group: &str, topic: &str, text: &str) -> Result<Arc<Expression>, String> {
        let key = (group.to_owned(), topic.to_owned());
        if let Some(hit) = self.lock().get(&key).filter(|e| e.text() == text).cloned() {
            return Ok(hit);
        }
        let compiled = Arc::new(Expression::compile(text).map_err(|e| why_invalid(text, &e))?);
        self.lock().insert(key, compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Arc<Expression>>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The filter for an expression of type `expression_type` (`TAG` when absent).
pub(crate) fn build(
    ctx: &BrokerContext,
    group: &str,
    topic: &str,
    expression_type: Option<&str>,
    expression: Option<&str>,
) -> Result<PullFilter, CommandError> {
    let kind = expression_type
        .filter(|t| !t.is_empty())
        .unwrap_or(EXPRESSION_TYPE_TAG);
    if kind.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG) {
        return Ok(PullFilter::Tag(TagSubscription::parse(expression)));
    }
    check_sql_allowed(ctx, kind)?;
    let text = expression.unwrap_or_default();
    ctx.filters
        .get(group, topic, text)
        .map(PullFilter::Sql)
        .map_err(|why| parse_failed(group, topic, text, &why))
}

fn check_sql_allowed(ctx: &BrokerContext, kind: &str) -> Result<(), CommandError> {
    if !kind.eq_ignore_ascii_case(EXPRESSION_TYPE_SQL92) {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("unknown expressionType {kind:?}: use TAG or SQL92"),
        ));
    }
    if !ctx.live.enable_property_filter() {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The broker does not support consumer to filter message by {kind}: set enablePropertyFilter=true in broker.conf on broker {}",
                ctx.config.broker_name
            ),
        ));
    }
    Ok(())
}

/// The parser's complaint, with the place also as Apache's SQL92 parser names it (`at line 1,
/// column 5`, counted from 1) so people and tools reading either broker's remark find it.
fn why_invalid(text: &str, error: &FilterError) -> String {
    let Some(position) = error.position() else {
        return error.to_string();
    };
    let before: Vec<char> = text.chars().take(position).collect();
    let line = 1 + before.iter().filter(|&&c| c == '\n').count();
    let column = 1 + before.iter().rev().take_while(|&&c| c != '\n').count();
    format!("{error}, at line {line}, column {column}")
}

fn parse_failed(group: &str, topic: &str, text: &str, why: &str) -> CommandError {
    CommandError::new(
        ResponseCode::SUBSCRIPTION_PARSE_FAILED,
        format!("parse the consumer's subscription failed: the SQL92 expression {text:?} of group {group} on topic {topic} is invalid: {why}"),
    )
}

/// Adds the CHECK_CLIENT_CONFIG route.
pub(crate) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(
        RequestCode::CHECK_CLIENT_CONFIG,
        handler(ctx, check_client_config),
    )
}

async fn check_client_config(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let body: CheckClientRequestBody = fastjson::from_slice(&req.body).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the CHECK_CLIENT_CONFIG body is invalid: {e}"),
        )
    })?;
    let sub = &body.subscription_data;
    if !sub
        .expression_type
        .eq_ignore_ascii_case(EXPRESSION_TYPE_TAG)
    {
        check_sql_allowed(&ctx, &sub.expression_type)?;
        Expression::compile(&sub.sub_string).map_err(|e| {
            parse_failed(
                &body.group,
                &sub.topic,
                &sub.sub_string,
                &why_invalid(&sub.sub_string, &e),
            )
        })?;
    }
    Ok(RemotingCommand::success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_recompiles_only_when_the_text_changes() {
        let cache = FilterCache::default();
        let first = cache.get("g", "t", "a > 1").unwrap();
        let again = cache.get("g", "t", "a > 1").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let changed = cache.get("g", "t", "a > 2").unwrap();
        assert_eq!(changed.text(), "a > 2");
        assert!(cache.get("g", "t", "a >").is_err());
    }

    #[test]
    fn a_parse_error_names_the_line_and_column_as_apache_does() {
        let why = |text: &str| why_invalid(text, &Expression::compile(text).unwrap_err());
        assert!(
            why("a > AND b = 1").ends_with("at position 4, at line 1, column 5"),
            "{}",
            why("a > AND b = 1")
        );
        let two_lines = why("a = 1\nAND b = = 2");
        assert!(two_lines.ends_with("at line 2, column 9"), "{two_lines}");
    }
}
