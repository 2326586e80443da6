//! The management routes as a closed set: parsed once from method and path, each knowing
//! its canonical name (as `allowed_routes` lists it) and whether it only reads.

use crate::api::ApiError;
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
}

/// Whether `path` is a management route (any method).
pub fn is_management(path: &str) -> bool {
    lookup(path).is_some()
}

/// `(route, is_get)` for a path, without the method.
fn lookup(path: &str) -> Option<(Route, bool)> {
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
            "new" => (Route::CustomerNew, false),
            "update" => (Route::CustomerUpdate, false),
            "delete" => (Route::CustomerDelete, false),
            "info" => (Route::CustomerInfo, true),
            "list" => (Route::CustomerList, true),
            "block" => (Route::CustomerBlock(true), false),
            "unblock" => (Route::CustomerBlock(false), false),
            _ => return None,
        };
        return Some(r);
    }
    let r = match path {
        "/key/generate" => (Route::KeyGenerate, false),
        "/key/update" => (Route::KeyUpdate, false),
        "/key/delete" => (Route::KeyDelete, false),
        "/key/info" => (Route::KeyInfo, true),
        "/key/list" => (Route::KeyList, true),
        "/key/block" => (Route::KeyBlock(true), false),
        "/key/unblock" => (Route::KeyBlock(false), false),
        "/key/regenerate" => (Route::KeyRegenerate(None), false),
        "/team/new" => (Route::TeamNew, false),
        "/team/update" => (Route::TeamUpdate, false),
        "/team/delete" => (Route::TeamDelete, false),
        "/team/info" => (Route::TeamInfo, true),
        "/team/list" => (Route::TeamList, true),
        "/team/member_add" => (Route::TeamMemberAdd, false),
        "/team/member_update" => (Route::TeamMemberUpdate, false),
        "/team/member_delete" => (Route::TeamMemberDelete, false),
        "/team/block" => (Route::TeamBlock(true), false),
        "/team/unblock" => (Route::TeamBlock(false), false),
        "/user/new" => (Route::UserNew, false),
        "/user/update" => (Route::UserUpdate, false),
        "/user/delete" => (Route::UserDelete, false),
        "/user/info" => (Route::UserInfo, true),
        "/user/list" => (Route::UserList, true),
        "/budget/new" => (Route::BudgetNew, false),
        "/budget/update" => (Route::BudgetUpdate, false),
        "/budget/info" => (Route::BudgetInfo, false),
        "/budget/list" => (Route::BudgetList, true),
        "/budget/delete" => (Route::BudgetDelete, false),
        "/spend/logs" => (Route::SpendLogs, true),
        "/global/spend" => (Route::GlobalSpend, true),
        "/global/spend/keys" => (Route::GlobalSpendBy(SpendGroup::ApiKey), true),
        "/global/spend/teams" => (Route::GlobalSpendBy(SpendGroup::Team), true),
        "/global/spend/models" => (Route::GlobalSpendBy(SpendGroup::Model), true),
        "/global/spend/end_users" => (Route::GlobalSpendBy(SpendGroup::EndUser), true),
        "/model/info" => (Route::ModelInfo, true),
        "/model_group/info" => (Route::ModelGroupInfo, true),
        p => {
            let key = p.strip_prefix("/key/")?.strip_suffix("/regenerate")?;
            if key.is_empty() || key.contains('/') {
                return None;
            }
            (Route::KeyRegenerate(Some(key.to_string())), false)
        }
    };
    Some(r)
}

impl Route {
    /// The route for a request; 404 for a path that is none, 405 for the wrong method.
    pub fn parse(method: &str, path: &str) -> Result<Route, ApiError> {
        let (route, get) = lookup(path).ok_or_else(|| ApiError::not_found_route(method, path))?;
        let ok = match method {
            "GET" | "HEAD" => get,
            "POST" => !get,
            _ => false,
        };
        if !ok {
            let want = if get { "GET" } else { "POST" };
            return Err(ApiError::new(
                405,
                crate::api::error::ErrorKind::InvalidRequest,
                format!("Method {method} not allowed on {path}: use {want}"),
            ));
        }
        Ok(route)
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
        )
    }

    /// Routes every key may call, each answering only about the key itself: its own key,
    /// team and user, and the models it may call.
    pub fn about_itself(&self) -> bool {
        matches!(
            self,
            Route::KeyInfo
                | Route::TeamInfo
                | Route::UserInfo
                | Route::ModelInfo
                | Route::ModelGroupInfo
        )
    }

    /// Routes a non-admin key may call on its own user and keys.
    pub fn self_service(&self) -> bool {
        matches!(self, Route::KeyGenerate | Route::KeyInfo | Route::UserInfo)
    }
}
