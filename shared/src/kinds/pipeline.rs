//! The one pipeline that runs a task of any kind:
//!
//! persona (inactive or deleted → SKIPPED) → target (gone → SKIPPED) → what the persona sees → memory
//! (done before → SKIPPED) → per-persona limits (over → rescheduled) → prompt → model → parse → publish
//! gate → one transaction: content row + memory row + task DONE (+ tokens, decisions, relationship, what a session chose).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::compose::{self, ComposeError};
use super::{
    Action, ActionError, Kind, Prepared, Published, Services, Step, View, Written, bounds, conversation, gate, seed_of,
};
use crate::ai::{Disposition, Usage};
use crate::db::content;
use crate::db::memory;
use crate::db::personas;
use crate::db::sessions::{self, Other};
use crate::db::steps;
use crate::db::tasks::Outcome;
use crate::db::{self as database, DbError};
use crate::persona::limits::Work;
use crate::persona::{History, Persona};
use crate::prompt::{Budget, estimate_tokens};
use crate::queue::{Failure, QueueError, Task, TaskStatus};

/// What the queue does with a task after an [`ActionError`].
enum Next {
    Skip(String),
    Reschedule(DateTime<Utc>, String),
    /// To the day's rollover: a budget is reached.
    Defer(DateTime<Utc>, String),
    Fail(Failure),
    /// The claim is gone: someone else owns the task now; leave it alone.
    Abandon,
}

impl ActionError {
    fn next(&self, now: DateTime<Utc>) -> Next {
        match self {
            Self::Skip(reason) => Next::Skip(reason.clone()),
            Self::Reschedule { at, reason } => Next::Reschedule(*at, reason.clone()),
            Self::OverBudget { until, reason } => Next::Defer(*until, reason.clone()),
            Self::UnknownType { .. } | Self::Invalid(_) | Self::GaveUp(_) => {
                Next::Fail(Failure::Permanent(self.to_string()))
            }
            Self::Model(e) => match e.disposition() {
                Disposition::Reschedule { after } => {
                    Next::Reschedule(now + Duration::from_std(after).unwrap_or(Duration::minutes(1)), e.to_string())
                }
                Disposition::Retry => Next::Fail(Failure::Retryable(e.to_string())),
                Disposition::Fail => Next::Fail(Failure::Permanent(e.to_string())),
                Disposition::Skip => Next::Skip(e.to_string()),
            },
            Self::Unusable(_) => Next::Fail(Failure::Retryable(self.to_string())),
            Self::Media(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Media(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Storage(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Storage(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Db(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Db(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Queue(QueueError::LostClaim(_)) => Next::Abandon,
            Self::Queue(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Queue(e) => Next::Fail(Failure::Permanent(e.to_string())),
        }
    }
}

/// What became of a task run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// DONE: its effect is committed.
    Published,
    /// SKIPPED: not applicable.
    Skipped,
    /// PENDING again without using a retry (a rate limit).
    Rescheduled,
    /// PENDING again after a retryable failure (a retry used).
    Retrying,
    /// PENDING again while what it publishes is still being made elsewhere (a clip rendering); it
    /// resumes from where it stopped, its draft kept, without using a retry.
    Waiting,
    /// FAILED for good.
    Failed,
    /// The claim was lost (the lease expired and the task was rescued, or it was cancelled or deleted).
    Abandoned,
    /// The outcome could not be written; the lease will free the task.
    Unrecorded,
}

/// How a task run ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskReport {
    /// The task.
    pub task_id: Uuid,
    /// Its type.
    pub task_type: String,
    /// Its persona.
    pub persona_id: Uuid,
    /// Where it ended up (RUNNING if even recording the outcome failed: the lease will free it).
    pub status: TaskStatus,
    /// What became of it.
    pub outcome: RunOutcome,
    /// What was published.
    pub published: Option<Published>,
    /// Why it was skipped, rescheduled or failed.
    pub reason: Option<String>,
    /// When it runs again (rescheduled or retried).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Tokens used.
    pub usage: Usage,
}

/// What an attempt came to when it did not fail.
#[derive(Debug, Clone, Copy)]
pub enum Attempted {
    /// Its effect is committed.
    Published(Published),
    /// Put back to resume at `until` (see [`Step::Wait`]).
    Waiting {
        /// When it runs again.
        until: DateTime<Utc>,
    },
}

/// Runs a claimed task to its end and records the outcome on it. Never returns an error: every failure
/// becomes the task's state (and when even that cannot be written, the lease frees it later). Every log
/// line of the run carries the task's id, kind and persona.
#[tracing::instrument(name = "task", skip_all, fields(task_id = %task.id, kind = %task.task_type, persona_id = %task.persona_id))]
pub async fn run_task(services: &Services<'_>, task: &Task) -> TaskReport {
    let mut decisions: Vec<serde_json::Value> = Vec::new();
    let mut usage = Usage::default();
    let result = match services.kinds.find(&task.task_type) {
        Ok(kind) => kind.runs().attempt(services, task, &mut decisions, &mut usage).await,
        Err(e) => Err(e),
    };
    let mut report = TaskReport {
        task_id: task.id,
        task_type: task.task_type.clone(),
        persona_id: task.persona_id,
        status: TaskStatus::Running,
        outcome: RunOutcome::Unrecorded,
        published: None,
        reason: None,
        next_attempt_at: None,
        usage,
    };
    let error = match result {
        Ok(Attempted::Published(published)) => {
            report.status = TaskStatus::Done;
            report.outcome = RunOutcome::Published;
            report.published = Some(published);
            tracing::info!(task_id = %task.id, task_type = %task.task_type, result_id = ?published.result_id, "published");
            return report;
        }
        Ok(Attempted::Waiting { until }) => {
            report.status = TaskStatus::Pending;
            report.outcome = RunOutcome::Waiting;
            report.next_attempt_at = Some(until);
            tracing::info!(task_id = %task.id, next_attempt_at = %until, "waiting for what it publishes to be made");
            return report;
        }
        Err(e) => e,
    };
    let now = services.clock.now();
    let next = error.next(now);
    let verdict = match &next {
        Next::Skip(_) => "skipped",
        Next::Reschedule(..) => "rescheduled",
        Next::Defer(..) => "deferred",
        Next::Fail(Failure::Retryable(_)) => "retry",
        Next::Fail(Failure::Permanent(_)) => "failed",
        Next::Abandon => "abandoned",
    };
    decisions.push(json!({ "at": now, "stage": "outcome", "verdict": verdict, "reason": error.to_string() }));
    let decisions = serde_json::Value::Array(decisions);
    let outcome = Outcome {
        prompt_tokens: tokens(usage.prompt_tokens),
        completion_tokens: tokens(usage.completion_tokens()),
        decisions: Some(&decisions),
        cost_micros: cost(&usage),
        cached_tokens: tokens(usage.cached_tokens),
        ..Outcome::default()
    };
    report.reason = Some(error.to_string());
    // A lost connection (the database restarting, say) usually heals within seconds: try a few times
    // before leaving the task to its lease, so its record says what happened.
    let mut tries = 0;
    let recorded = loop {
        match record_outcome(services, task, &next, &outcome, &mut report).await {
            Err(QueueError::Db(e)) if e.is_retryable() && tries < RECORD_ATTEMPTS => {
                tries += 1;
                tracing::warn!(task_id = %task.id, error = %e, "recording the task's outcome failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(250 << tries)).await;
            }
            other => break other,
        }
    };
    match recorded {
        Ok(()) => tracing::info!(task_id = %task.id, status = %report.status, reason = %error, "task not published"),
        Err(QueueError::LostClaim(_)) => {
            tracing::warn!(task_id = %task.id, "the task was taken from this worker (lease expired or cancelled)")
        }
        Err(e) => {
            tracing::error!(task_id = %task.id, error = %e, cause = %error, "could not record the task's outcome; the lease will free it")
        }
    }
    report
}

/// How many times a failed recording of a task's outcome is retried (after 0.5, 1, 2 and 4 s).
const RECORD_ATTEMPTS: u32 = 4;

/// Writes what becomes of a task that did not publish, into `report` as well, in one transaction.
async fn record_outcome(
    services: &Services<'_>,
    task: &Task,
    next: &Next,
    outcome: &Outcome<'_>,
    report: &mut TaskReport,
) -> Result<(), QueueError> {
    let mut client = services.pool.get().await.map_err(DbError::from)?;
    let client = database::begin(&mut client).await?;
    let queue = services.queue;
    match next {
        Next::Skip(reason) => {
            queue.skip(&client, task, reason, outcome).await?;
            report.status = TaskStatus::Skipped;
            report.outcome = RunOutcome::Skipped;
        }
        Next::Reschedule(at, reason) => {
            let at = queue.reschedule(&client, task, *at, reason, outcome).await?;
            report.status = TaskStatus::Pending;
            report.outcome = RunOutcome::Rescheduled;
            report.next_attempt_at = Some(at);
        }
        Next::Fail(failure) => {
            let result = queue.fail(&client, task, failure, outcome).await?;
            report.status = result.status;
            report.outcome =
                if result.status == TaskStatus::Pending { RunOutcome::Retrying } else { RunOutcome::Failed };
            report.next_attempt_at = result.next_attempt_at;
        }
        Next::Defer(until, reason) => {
            let at = queue.defer(&client, task, *until, reason, outcome).await?;
            report.status = TaskStatus::Pending;
            report.outcome = RunOutcome::Rescheduled;
            report.next_attempt_at = Some(at);
        }
        Next::Abandon => report.outcome = RunOutcome::Abandoned,
    }
    // A task that ended keeps nothing for a next run; one that will run again resumes from it.
    if matches!(report.status, TaskStatus::Failed | TaskStatus::Skipped) {
        steps::finish(&client, task.id).await?;
    }
    client.commit().await.map_err(DbError::from)?;
    Ok(())
}

fn cost(usage: &Usage) -> Option<i64> {
    (usage.cost_micros > 0).then(|| i64::try_from(usage.cost_micros).unwrap_or(i64::MAX))
}

fn tokens(n: u32) -> Option<i32> {
    (n > 0).then(|| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Whether a run publishes, or only shows what it would publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The worker's run: every rule, then the publishing transaction.
    Publish,
    /// An operator's preview: the persona may be paused and its hourly limits are not consulted; nothing
    /// is written.
    DryRun,
}

/// A draft that passed the gate (or that a waiting step kept), with what the publishing step needs.
pub(super) struct Drafted<A: Action> {
    pub(super) persona: Persona,
    pub(super) prepared: Prepared<A::Seen>,
    pub(super) draft: A::Draft,
    stance: Option<crate::voice::Stance>,
    seed: u64,
    /// Where a waiting step left off.
    resumed: Option<steps::Waiting>,
}

/// What a task would publish: generated and checked by the publish gate, never published.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// Who would act.
    pub persona_id: Uuid,
    /// What kind of work.
    pub task_type: String,
    /// What the persona would publish, as a reader would see it (empty for a vote or a choice).
    pub text: String,
    /// The draft itself, with the kind that wrote it: a post's title and body, a comment, a vote, an
    /// image post's prompt…
    #[schema(value_type = Object)]
    pub draft: serde_json::Value,
    /// What the pipeline and the gate decided on the way.
    #[schema(value_type = Vec<Object>)]
    pub decisions: Vec<serde_json::Value>,
    /// Tokens used.
    pub usage: Usage,
}

/// Generates what `task` (never stored) would publish and stops there: no content, memory, relationship
/// or task row is written, and nothing is rendered or stored.
pub async fn dry_run(services: &Services<'_>, task: &Task) -> Result<DryRun, ActionError> {
    let mut decisions = Vec::new();
    let mut usage = Usage::default();
    let kind: Kind = services.kinds.find(&task.task_type)?;
    let (draft, text) = kind.runs().preview(services, task, &mut decisions, &mut usage).await?;
    Ok(DryRun { persona_id: task.persona_id, task_type: task.task_type.clone(), text, draft, decisions, usage })
}

/// A task of `action`'s kind up to its committed effect: the draft (or the one a waiting step kept),
/// what it makes, then one transaction with the content, the memory, the relationship, what it sets off
/// and the task's DONE — or, when what it makes is not ready, the draft and the step's state kept with
/// the task put back.
pub(super) async fn attempt<A: Action>(
    action: &'static A,
    services: &Services<'_>,
    task: &Task,
    decisions: &mut Vec<serde_json::Value>,
    usage: &mut Usage,
) -> Result<Attempted, ActionError> {
    let Drafted { persona, prepared, draft, stance, seed, resumed } =
        draft_for(action, services, task, Mode::Publish, decisions, usage).await?;
    let started = resumed.as_ref().map(|w| w.started_at);
    let made = match action.render(services, task, &persona, &draft, resumed.map(|w| w.state), usage).await? {
        Step::Ready(made) => made,
        Step::Wait { until, state, reason } => {
            let mut db = services.pool.get().await?;
            let tx = database::begin(&mut db).await?;
            let now = services.clock.now();
            let draft_json = serde_json::to_value(&draft).map_err(|e| ActionError::Invalid(e.to_string()))?;
            steps::keep(&tx, task.id, &draft_json, &state, started.unwrap_or(now), now).await?;
            decisions
                .push(json!({ "at": now, "stage": "render", "verdict": "waiting", "reason": reason, "until": until }));
            let decisions_json = serde_json::Value::Array(std::mem::take(decisions));
            let outcome = Outcome {
                prompt_tokens: tokens(usage.prompt_tokens),
                completion_tokens: tokens(usage.completion_tokens()),
                decisions: Some(&decisions_json),
                cost_micros: cost(usage),
                cached_tokens: tokens(usage.cached_tokens),
                ..Outcome::default()
            };
            let until = services.queue.reschedule(&tx, task, until, &reason, &outcome).await?;
            tx.commit().await?;
            return Ok(Attempted::Waiting { until });
        }
    };

    let mut db = services.pool.get().await?;
    let tx = database::begin(&mut db).await?;
    let now = services.clock.now();
    if let Some(spot) = &prepared.reply_spot {
        content::lock_thread(&tx, spot.root).await?;
        conversation::check_limits(&tx, services.conversation, spot).await?;
    }
    let scene = prepared.seen.scene();
    // Whoever the persona answered or voted on, it now feels a little differently about.
    let feeling = draft.feeling(stance);
    let set_off = action.sets_off(services, task, &prepared, &draft, seed);
    let published = action.publish(&tx, task, &persona, &prepared, draft, made, now).await?;
    decisions
        .push(json!({ "at": now, "stage": "publish", "verdict": "published", "result_type": published.result_type }));
    if let Some(author) = scene.comment().map(|c| &c.author).or(scene.post().map(|p| &p.author))
        && author.persona_id() != Some(persona.id)
        && let Some(delta) = feeling
    {
        sessions::relate(&tx, persona.id, Other::of(author), delta, now).await?;
    }
    if !set_off.tasks.is_empty() {
        services.queue.enqueue(&tx, &set_off.tasks).await?;
    }
    decisions.extend(set_off.notes);
    if started.is_some() {
        steps::finish(&tx, task.id).await?;
    }
    let decisions_json = serde_json::Value::Array(std::mem::take(decisions));
    services
        .queue
        .complete(
            &tx,
            task,
            &Outcome {
                result_id: published.result_id,
                result_type: published.result_type,
                prompt_tokens: tokens(usage.prompt_tokens),
                completion_tokens: tokens(usage.completion_tokens()),
                decisions: Some(&decisions_json),
                cost_micros: cost(usage),
                cached_tokens: tokens(usage.cached_tokens),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(Attempted::Published(published))
}

/// Everything up to a draft that passed the gate: the persona, the target, what it sees, the rules,
/// the model (or a decision without it), the gate. A task that was waiting for what it publishes gets
/// back the draft it kept, and the model is not asked again.
pub(super) async fn draft_for<A: Action>(
    action: &'static A,
    services: &Services<'_>,
    task: &Task,
    mode: Mode,
    decisions: &mut Vec<serde_json::Value>,
    usage: &mut Usage,
) -> Result<Drafted<A>, ActionError> {
    let kind = action.name();
    let targets = action.targets();
    let fields: Vec<&str> = targets.iter().map(|t| t.field()).collect();
    let target = match task.target().map_err(ActionError::Invalid)? {
        Some(target) if targets.contains(&target.kind()) => Some(target),
        None if targets.is_empty() => None,
        Some(_) if targets.is_empty() => {
            return Err(ActionError::Invalid(format!("a {kind} task takes no post, comment or board")));
        }
        _ => {
            return Err(ActionError::Invalid(format!("a {kind} task needs a {}", fields.join(" or a "))));
        }
    };
    let seed = seed_of(task.id);
    let (persona, prepared, plan, history, instructions, published, ahead) = {
        let db = services.pool.get().await?;
        let persona = personas::find(&**db, task.persona_id)
            .await?
            .ok_or_else(|| ActionError::Skip("persona was deleted".into()))?;
        if !persona.is_active && mode == Mode::Publish {
            return Err(ActionError::Skip("persona is paused".into()));
        }
        let prepared = action.observe(services, &db, task, target, &persona).await?;
        if let Some(m) = prepared.memory
            && memory::has(&**db, persona.id, m.target, m.action).await?
        {
            return Err(ActionError::Skip(format!("persona already {} on this target", m.action)));
        }
        // What a waiting step kept: its draft passed every check when it was written, and the limits
        // and budgets were checked before the step began.
        if mode == Mode::Publish
            && let Some(waiting) = steps::find(&**db, task.id).await?
        {
            let draft: A::Draft = serde_json::from_value(waiting.draft.clone())
                .map_err(|e| ActionError::Invalid(format!("the draft kept for this task is unreadable: {e}")))?;
            decisions.push(json!({ "at": services.clock.now(), "stage": "resume", "since": waiting.started_at }));
            return Ok(Drafted { persona, prepared, draft, stance: None, seed, resumed: Some(waiting) });
        }
        // A cheap early look at the conversation limits, before paying for a model call; the
        // authoritative check comes under the thread's lock in the publishing transaction.
        if let Some(spot) = &prepared.reply_spot {
            conversation::check_limits(&**db, services.conversation, spot).await?;
        }
        let now = services.clock.now();
        let activity = personas::activity(&**db, persona.id, now).await?;
        let scene = prepared.seen.scene();
        // Answering a person, or what an operator forced, may use the action the persona's own work
        // leaves free in every hour.
        let answers_a_person = prepared.reply_spot.is_some()
            && scene.comment().is_some_and(|c| matches!(c.author, crate::context::Author::Human { .. }));
        let forced = task.payload.get("forced").and_then(serde_json::Value::as_bool) == Some(true);
        let work = if answers_a_person || forced { Work::Priority } else { Work::Own };
        if action.is_action()
            && mode == Mode::Publish
            && let Err(reached) = services.limits.check(&activity, work, action.is_post(), now)
        {
            return Err(ActionError::Reschedule { at: reached.at, reason: reached.reason });
        }
        // Settled without the model, or asked: only what the model will be asked needs reading.
        let plan =
            action.decide(&persona, &prepared.seen, seed).ok_or_else(|| action.ask(&prepared.seen, &persona, seed));
        // A task that would spend waits for tomorrow once a daily budget is reached.
        if mode == Mode::Publish
            && (plan.is_err() || action.needs_images())
            && let Err(reached) = crate::spend::check(
                &**db,
                services.budget,
                persona.id,
                now,
                crate::stable::unit(&[task.id.as_bytes(), b"budget"]),
                0,
            )
            .await?
        {
            return Err(ActionError::OverBudget { until: reached.until, reason: reached.reason });
        }
        let writing = matches!(&plan, Err(ask) if ask.may_write());
        let history = History {
            recent: personas::recent_texts(&**db, persona.id, bounds::HISTORY).await?,
            // Examples only for writing; only what still passes the style gate, whatever it earned.
            landed: if writing {
                let landed = sessions::texts_that_landed(&**db, persona.id, now - Duration::days(30), 4).await?;
                landed.into_iter().filter(|w| crate::style::marks(&w.text).is_empty()).collect()
            } else {
                Vec::new()
            },
            summary: sessions::summary(&**db, persona.id).await?.map(|(text, _)| text),
        };
        let instructions = operator_instructions(&**db, task, now, decisions).await?;
        // What every persona published this week, on every board: a draft must not nearly repeat anyone.
        let published = if matches!(&plan, Err(ask) if ask.class == crate::ai::ModelClass::Writing) {
            personas::published_texts(
                &**db,
                now - Duration::days(7),
                bounds::PUBLISHED_TEXTS,
                bounds::PUBLISHED_TEXT_CHARS,
            )
            .await?
        } else {
            Vec::new()
        };
        // What the session that chose this task already wrote for it, when the kind takes that.
        let ahead = match task.origin_task_id {
            Some(origin) if plan.is_err() && action.answer_from_session("").is_some() => {
                sessions::written_ahead(&**db, origin, task.id, persona.id).await?
            }
            _ => None,
        };
        (persona, prepared, plan, history, instructions, published, ahead)
    }; // the connection goes back to the pool for the slow model call

    let mut stance = None;
    let draft = match plan {
        Ok((draft, why)) => {
            decisions.push(
                json!({ "at": services.clock.now(), "stage": "decide", "verdict": "without_model", "reason": why }),
            );
            draft
        }
        Err(ask) => {
            stance = ask.brief.map(|b| b.stance);
            let scene = prepared.seen.scene();
            // What the draft may say about being AI: the prompt, the offline writer and the gate all follow it.
            let candour = super::candour_for(services.disclosure, &scene);
            let mut corpus = history.texts();
            corpus.extend(scene.corpus());
            corpus.extend(published);
            if candour.must_answer() {
                decisions.push(json!({ "at": services.clock.now(), "stage": "disclosure", "asked": true }));
            }
            let gate = gate::PublishGate::new(services, corpus, scene.names(), candour);
            let parse = |answer: &str| action.parse(answer, &persona);
            // The session's text, checked like the model's answer would be, against what is there now; the
            // model is asked only when it does not pass. A sincere question about being AI is always
            // answered by the writing model, which is told how.
            let from_session = ahead
                .as_deref()
                .filter(|_| !candour.must_answer())
                .and_then(|text| action.answer_from_session(text))
                .map(|answer| answer.to_string());
            if let Some(answer) = from_session {
                match compose::check(&parse, &answer, &gate).await {
                    Ok(draft) => {
                        decisions
                            .push(json!({ "at": services.clock.now(), "stage": "session_text", "verdict": "used" }));
                        decisions.push(json!({
                            "at": services.clock.now(), "stage": "composed", "attempts": 0,
                            "output_tokens_estimate": 0,
                        }));
                        return Ok(Drafted { persona, prepared, draft, stance, seed, resumed: None });
                    }
                    Err(reason) => decisions.push(json!({
                        "at": services.clock.now(), "stage": "session_text", "verdict": "refused", "reason": reason,
                    })),
                }
            }
            let prompt = super::prompt_for(
                action,
                &ask,
                &prepared.seen,
                &persona,
                &history,
                instructions.as_deref(),
                seed,
                &Budget::default(),
                candour,
            );
            decisions.push(json!({
                "at": services.clock.now(), "stage": "prompt", "brief": ask.brief,
                "input_tokens_estimate": estimate_tokens(&prompt.system) + estimate_tokens(&prompt.user),
                "class": prompt.class.name(),
                "prefix_tokens_estimate": estimate_tokens(crate::prompt::stable_prefix(&prompt)),
            }));
            let composed = match compose::compose(services.model, &parse, &prompt, &gate).await {
                Ok(composed) => composed,
                Err(failure) => {
                    *usage = usage.plus(failure.usage);
                    record_notes(services, decisions, &failure.notes);
                    return Err(match failure.error {
                        ComposeError::Model(e) => ActionError::Model(e),
                        ComposeError::Unusable(e) => ActionError::Unusable(e),
                        ComposeError::Rejected(reason) => {
                            ActionError::Skip(format!("rejected by the publish gate: {reason}"))
                        }
                    });
                }
            };
            *usage = usage.plus(composed.usage);
            record_notes(services, decisions, &composed.notes);
            // What the answer would cost from any model: the offline writer has no usage of its own, and
            // the simulator prices a week of work from these.
            let answer = serde_json::to_string(&composed.draft).unwrap_or_default();
            decisions.push(json!({
                "at": services.clock.now(), "stage": "composed", "attempts": composed.attempts,
                "output_tokens_estimate": estimate_tokens(&answer),
            }));
            composed.draft
        }
    };
    Ok(Drafted { persona, prepared, draft, stance, seed, resumed: None })
}

/// The operator's instructions for the task: only what the admin API or the CLI recorded for it, and only
/// while the task still names the persona, kind and target they were given for. A payload that carries
/// instructions of its own (written into the table by anyone else), or a task re-aimed since, runs
/// without them, and the task's decisions say so.
async fn operator_instructions(
    db: &impl database::GenericClient,
    task: &Task,
    now: DateTime<Utc>,
    decisions: &mut Vec<serde_json::Value>,
) -> Result<Option<String>, ActionError> {
    let issued = database::tasks::instructions_for(db, task.id).await?;
    if let Some(given) = &issued {
        let differ = given.mismatches(task);
        if !differ.is_empty() {
            decisions.push(json!({
                "at": now, "stage": "provenance", "verdict": "ignored",
                "reason": format!(
                    "the operator's instructions were given for another {}; the task runs without them",
                    differ.join(" and ")
                )
            }));
            return Ok(None);
        }
    }
    let claimed = task.payload.get("instructions").and_then(|v| v.as_str()).is_some_and(|t| !t.trim().is_empty());
    if issued.is_none() && claimed {
        decisions.push(json!({
            "at": now, "stage": "provenance", "verdict": "ignored",
            "reason": "payload.instructions were not issued through the admin API or the CLI; the task runs without them"
        }));
    }
    Ok(issued.map(|given| given.text))
}

fn record_notes(services: &Services<'_>, decisions: &mut Vec<serde_json::Value>, notes: &[String]) {
    let now = services.clock.now();
    for note in notes {
        decisions.push(json!({ "at": now, "stage": "gate", "verdict": "regenerate", "reason": note }));
    }
}
