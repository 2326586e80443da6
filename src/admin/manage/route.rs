//! The management routes as a closed set: parsed once from method and path, each knowing
//! its canonical name (as `allowed_routes` lists it), its HTTP method and whether it only
//! reads.

use crate::core::error::ApiError;
use crate::store::SpendGroup;

/// One management route.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    KeyGenerate,
    KeyUpdate,
    KeyDelete,
    KeyInfo,
    KeyList,
    /// `/key/block` (true) or `/key/unblock` (false).
    KeyBlock(bool),
    /// `/key/regenerate`, or `/key/{key}/regenerate` with the key from the path.
    KeyRegenerate(Option<String>),
    TeamNew,
    TeamUpdate,
    TeamDelete,
    TeamInfo,
    TeamList,
    TeamMemberAdd,
    TeamMemberUpdate,
    TeamMemberDelete,
    TeamBlock(bool),
    /// `POST` (add) or `GET` (read) `/team/{id}/callback`.
    TeamCallback(String),
    /// `POST /team/{id}/disable_logging`.
    TeamDisableLogging(String),
    UserNew,
    UserUpdate,
    UserDelete,
    UserInfo,
    UserList,
    CustomerNew,
    CustomerUpdate,
    CustomerDelete,
    CustomerInfo,
    CustomerList,
    CustomerBlock(bool),
    BudgetNew,
    BudgetUpdate,
    BudgetInfo,
    BudgetList,
    BudgetDelete,
    SpendLogs,
    GlobalSpend,
    GlobalSpendBy(SpendGroup),
    ModelInfo,
    ModelGroupInfo,
    OrgNew,
    OrgUpdate,
    OrgDelete,
    /// `GET /organization/info?organization_id=` (false), or LiteLLM's older
    /// `POST /organization/info {"organizations": [...]}` (true).
    OrgInfo(bool),
    OrgList,
    OrgMemberAdd,
    OrgMemberUpdate,
    OrgMemberDelete,
    /// `GET /audit`: a page of the audit log.
    AuditList,
    /// `GET /audit/{id}`.
    AuditGet(String),
}

/// The method a management route answers (LiteLLM's: most write with POST, organizations
/// update with PATCH and delete with DELETE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Patch,
    Delete,
    /// `/organization/info`: GET, or POST with the ids in the body.
    GetOrPost,
}

impl Verb {
    fn allows(self, method: &str) -> bool {
        match self {
            Verb::Get => matches!(method, "GET" | "HEAD"),
            Verb::Post => method == "POST",
            Verb::Patch => method == "PATCH",
            Verb::Delete => method == "DELETE",
            Verb::GetOrPost => matches!(method, "GET" | "HEAD" | "POST"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::GetOrPost => "GET or POST",
        }
    }
}

/// Whether `path` is a management route (any method).
pub fn is_management(path: &str) -> bool {
    lookup(path).is_some()
}

/// `/team/{id}/callback` and `/team/{id}/disable_logging`, from what follows `/team/`.
fn team_route(rest: &str) -> Option<(Route, Verb)> {
    let (id, action) = rest.split_once('/')?;
    if id.is_empty() || action.contains('/') {
        return None;
    }
    match action {
        "callback" => Some((Route::TeamCallback(id.to_string()), Verb::GetOrPost)),
        "disable_logging" => Some((Route::TeamDisableLogging(id.to_string()), Verb::Post)),
        _ => None,
    }
}

/// The route of a path and the method it answers.
fn lookup(path: &str) -> Option<(Route, Verb)> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let path = match path {
        "/v1/model/info" | "/v1/model_group/info" => &path[3..],
        p => p,
    };
    let customer = |p: &str| -> Option<String> {
        p.strip_prefix("/end_user/")
            .or_else(|| p.strip_prefix("/customer/"))
            .map(str::to_string)
    };
    if let Some(rest) = customer(path) {
        let r = match rest.as_str() {
            "new" => (Route::CustomerNew, Verb::Post),
            "update" => (Route::CustomerUpdate, Verb::Post),
            "delete" => (Route::CustomerDelete, Verb::Post),
            "info" => (Route::CustomerInfo, Verb::Get),
            "list" => (Route::CustomerList, Verb::Get),
            "block" => (Route::CustomerBlock(true), Verb::Post),
            "unblock" => (Route::CustomerBlock(false), Verb::Post),
            _ => return None,
        };
        return Some(r);
    }
    let r = match path {
        "/key/generate" => (Route::KeyGenerate, Verb::Post),
        "/key/update" => (Route::KeyUpdate, Verb::Post),
        "/key/delete" => (Route::KeyDelete, Verb::Post),
        "/key/info" => (Route::KeyInfo, Verb::Get),
        "/key/list" => (Route::KeyList, Verb::Get),
        "/key/block" => (Route::KeyBlock(true), Verb::Post),
        "/key/unblock" => (Route::KeyBlock(false), Verb::Post),
        "/key/regenerate" => (Route::KeyRegenerate(None), Verb::Post),
        "/team/new" => (Route::TeamNew, Verb::Post),
        "/team/update" => (Route::TeamUpdate, Verb::Post),
        "/team/delete" => (Route::TeamDelete, Verb::Post),
        "/team/info" => (Route::TeamInfo, Verb::Get),
        "/team/list" => (Route::TeamList, Verb::Get),
        "/team/member_add" => (Route::TeamMemberAdd, Verb::Post),
        "/team/member_update" => (Route::TeamMemberUpdate, Verb::Post),
        "/team/member_delete" => (Route::TeamMemberDelete, Verb::Post),
        "/team/block" => (Route::TeamBlock(true), Verb::Post),
        "/team/unblock" => (Route::TeamBlock(false), Verb::Post),
        "/user/new" => (Route::UserNew, Verb::Post),
        "/user/update" => (Route::UserUpdate, Verb::Post),
        "/user/delete" => (Route::UserDelete, Verb::Post),
        "/user/info" => (Route::UserInfo, Verb::Get),
        "/user/list" => (Route::UserList, Verb::Get),
        "/budget/new" => (Route::BudgetNew, Verb::Post),
        "/budget/update" => (Route::BudgetUpdate, Verb::Post),
        "/budget/info" => (Route::BudgetInfo, Verb::Post),
        "/budget/list" => (Route::BudgetList, Verb::Get),
        "/budget/delete" => (Route::BudgetDelete, Verb::Post),
        "/spend/logs" => (Route::SpendLogs, Verb::Get),
        "/global/spend" => (Route::GlobalSpend, Verb::Get),
        "/global/spend/keys" => (Route::GlobalSpendBy(SpendGroup::ApiKey), Verb::Get),
        "/global/spend/teams" => (Route::GlobalSpendBy(SpendGroup::Team), Verb::Get),
        "/global/spend/models" => (Route::GlobalSpendBy(SpendGroup::Model), Verb::Get),
        "/global/spend/end_users" => (Route::GlobalSpendBy(SpendGroup::EndUser), Verb::Get),
        "/model/info" => (Route::ModelInfo, Verb::Get),
        "/model_group/info" => (Route::ModelGroupInfo, Verb::Get),
        "/organization/new" => (Route::OrgNew, Verb::Post),
        "/organization/update" => (Route::OrgUpdate, Verb::Patch),
        "/organization/delete" => (Route::OrgDelete, Verb::Delete),
        "/organization/info" => (Route::OrgInfo(false), Verb::GetOrPost),
        "/organization/list" => (Route::OrgList, Verb::Get),
        "/organization/member_add" => (Route::OrgMemberAdd, Verb::Post),
        "/organization/member_update" => (Route::OrgMemberUpdate, Verb::Patch),
        "/organization/member_delete" => (Route::OrgMemberDelete, Verb::Delete),
        "/audit" => (Route::AuditList, Verb::Get),
        p => return by_id(p),
    };
    Some(r)
}

/// Routes with an id in the path: `/audit/{id}`, `/key/{key}/regenerate`,
/// `/team/{id}/callback`, `/team/{id}/disable_logging`.
fn by_id(p: &str) -> Option<(Route, Verb)> {
    if let Some(id) = p.strip_prefix("/audit/") {
        if id.is_empty() || id.contains('/') {
            return None;
        }
        return Some((Route::AuditGet(id.to_string()), Verb::Get));
    }
    if let Some(rest) = p.strip_prefix("/team/") {
        return team_route(rest);
    }
    let key = p.strip_prefix("/key/")?.strip_suffix("/regenerate")?;
    if key.is_empty() || key.contains('/') {
        return None;
    }
    Some((Route::KeyRegenerate(Some(key.to_string())), Verb::Post))
}

impl Route {
    /// The route for a request; 404 for a path that is none, 405 for the wrong method.
    pub fn parse(method: &str, path: &str) -> Result<Route, ApiError> {
        let (route, verb) = lookup(path).ok_or_else(|| ApiError::not_found_route(method, path))?;
        if !verb.allows(method) {
            return Err(ApiError::new(
                405,
                crate::core::error::ErrorKind::InvalidRequest,
                format!("Method {method} not allowed on {path}: use {}", verb.name()),
            ));
        }
        Ok(match route {
            Route::OrgInfo(_) => Route::OrgInfo(method == "POST"),
            r => r,
        })
    }

    /// The path as `allowed_routes` names it.
    pub fn name(&self) -> &'static str {
        match self {
            Route::KeyGenerate => "/key/generate",
            Route::KeyUpdate => "/key/update",
            Route::KeyDelete => "/key/delete",
            Route::KeyInfo => "/key/info",
            Route::KeyList => "/key/list",
            Route::KeyBlock(true) => "/key/block",
            Route::KeyBlock(false) => "/key/unblock",
            Route::KeyRegenerate(_) => "/key/regenerate",
            Route::TeamNew => "/team/new",
            Route::TeamUpdate => "/team/update",
            Route::TeamDelete => "/team/delete",
            Route::TeamInfo => "/team/info",
            Route::TeamList => "/team/list",
            Route::TeamMemberAdd => "/team/member_add",
            Route::TeamMemberUpdate => "/team/member_update",
            Route::TeamMemberDelete => "/team/member_delete",
            Route::TeamBlock(true) => "/team/block",
            Route::TeamBlock(false) => "/team/unblock",
            Route::TeamCallback(_) => "/team/{team_id}/callback",
            Route::TeamDisableLogging(_) => "/team/{team_id}/disable_logging",
            Route::UserNew => "/user/new",
            Route::UserUpdate => "/user/update",
            Route::UserDelete => "/user/delete",
            Route::UserInfo => "/user/info",
            Route::UserList => "/user/list",
            Route::CustomerNew => "/customer/new",
            Route::CustomerUpdate => "/customer/update",
            Route::CustomerDelete => "/customer/delete",
            Route::CustomerInfo => "/customer/info",
            Route::CustomerList => "/customer/list",
            Route::CustomerBlock(true) => "/customer/block",
            Route::CustomerBlock(false) => "/customer/unblock",
            Route::BudgetNew => "/budget/new",
            Route::BudgetUpdate => "/budget/update",
            Route::BudgetInfo => "/budget/info",
            Route::BudgetList => "/budget/list",
            Route::BudgetDelete => "/budget/delete",
            Route::SpendLogs => "/spend/logs",
            Route::GlobalSpend => "/global/spend",
            Route::GlobalSpendBy(SpendGroup::ApiKey) => "/global/spend/keys",
            Route::GlobalSpendBy(SpendGroup::Team) => "/global/spend/teams",
            Route::GlobalSpendBy(SpendGroup::Model) => "/global/spend/models",
            Route::GlobalSpendBy(_) => "/global/spend/end_users",
            Route::ModelInfo => "/model/info",
            Route::ModelGroupInfo => "/model_group/info",
            Route::OrgNew => "/organization/new",
            Route::OrgUpdate => "/organization/update",
            Route::OrgDelete => "/organization/delete",
            Route::OrgInfo(_) => "/organization/info",
            Route::OrgList => "/organization/list",
            Route::OrgMemberAdd => "/organization/member_add",
            Route::OrgMemberUpdate => "/organization/member_update",
            Route::OrgMemberDelete => "/organization/member_delete",
            Route::AuditList => "/audit",
            Route::AuditGet(_) => "/audit/{id}",
        }
    }

    /// Routes that change nothing (viewers may call them).
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Route::KeyInfo
                | Route::KeyList
                | Route::TeamInfo
                | Route::TeamList
                | Route::UserInfo
                | Route::UserList
                | Route::CustomerInfo
                | Route::CustomerList
                | Route::BudgetInfo
                | Route::BudgetList
                | Route::SpendLogs
                | Route::GlobalSpend
                | Route::GlobalSpendBy(_)
                | Route::ModelInfo
                | Route::ModelGroupInfo
                | Route::OrgInfo(_)
                | Route::OrgList
                | Route::AuditList
                | Route::AuditGet(_)
        )
    }

    /// The action an audit row records for this route's writes, when it is not the write's
    /// own (`created`, `updated`, `deleted`).
    pub fn audit_action(&self) -> Option<&'static str> {
        match self {
            Route::KeyBlock(true) | Route::TeamBlock(true) | Route::CustomerBlock(true) => {
                Some("blocked")
            }
            Route::KeyRegenerate(_) => Some("rotated"),
            _ => None,
        }
    }

    /// Routes every key may call, each answering only about the key itself: its own key,
    /// team and user, the models it may call, and the organizations its user is a member of
    /// (`/organization/info` only as their `org_admin`, as LiteLLM's `verify_org_access`).
    pub fn about_itself(&self) -> bool {
        matches!(
            self,
            Route::KeyInfo
                | Route::TeamInfo
                | Route::UserInfo
                | Route::ModelInfo
                | Route::ModelGroupInfo
                | Route::OrgInfo(_)
                | Route::OrgList
        )
    }

    /// Routes a non-admin key may call on its own user and keys.
    pub fn self_service(&self) -> bool {
        matches!(self, Route::KeyGenerate | Route::KeyInfo | Route::UserInfo)
    }
}
