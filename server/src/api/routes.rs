//! The API's handlers, and the OpenAPI document made from them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nonstop_core::names::{DisplayName, RoomName};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::directory::{Privacy, RoomRecord};
use super::error::ApiError;
use super::meeting_token::MeetingClaims;
use super::store::StoreError;
use super::{unix_now, Api};
use crate::hub::Hub;

/// Rooms per page of `GET /api/rooms`, unless `limit` says otherwise, and at most.
const PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// A meeting token's lifetime when the request gives no `expires_at`.
const TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

#[derive(Clone)]
struct ApiState {
    api: Arc<Api>,
    hub: Arc<Hub>,
}

/// `/api/…`: the API when there is one, otherwise 404 for every path.
pub fn router(api: Option<Arc<Api>>, hub: Arc<Hub>) -> Router {
    let Some(api) = api else {
        return Router::new().fallback(|| async {
            ApiError::not_found("this server has no REST API (start it with --api-key-file)")
        });
    };
    let state = ApiState { api, hub };
    let authenticated = Router::new()
        .route("/rooms", post(create_room).get(list_rooms))
        .route(
            "/rooms/{name}",
            get(get_room).patch(update_room).delete(delete_room),
        )
        .route("/rooms/{name}/presence", get(presence))
        .route("/meeting-tokens", post(create_meeting_token))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(authenticated)
        .fallback(|| async { ApiError::not_found("no such API endpoint (see /api/openapi.json)") })
        .with_state(state)
}

/// `Authorization: Bearer KEY`, with a key from the key file, within its rate.
async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return ApiError::unauthorized("send your API key as `Authorization: Bearer KEY`")
            .into_response();
    };
    let Some(digest) = state.api.key(given) else {
        return ApiError::unauthorized("this API key is not valid here").into_response();
    };
    if !state.api.within_rate(&digest) {
        return ApiError::rate_limited().into_response();
    }
    next.run(request).await
}

/// A JSON body, with unknown fields and wrong types refused by name.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid_request(format!("the body is not what this endpoint takes: {e}"))
    })
}

fn stored(e: StoreError) -> ApiError {
    ApiError::internal(e)
}

fn room_name(field: &'static str, raw: &str) -> Result<RoomName, ApiError> {
    RoomName::parse(raw).map_err(|e| ApiError::invalid_field(field, e.message))
}

/// What `POST /api/rooms` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// The room's name, which is its link's path; absent: a random one.
    name: Option<String>,
    /// `public` (default) or `private` (joins need a meeting token).
    privacy: Option<Privacy>,
    /// Most people in the call at once (up to the server's capacity); absent: the capacity.
    max_participants: Option<u32>,
    /// More people in the call than this and it moves to the SFU (relayed mode): the
    /// room's mesh limit, 1 up to the server's capacity. Absent: `--relay-above`.
    relay_above: Option<u32>,
    /// Unix seconds from which the room admits nobody; absent: never.
    expires_at: Option<u64>,
}

/// What `PATCH /api/rooms/{name}` takes: the fields to change (`null` clears one).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomChanges {
    privacy: Option<Privacy>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    max_participants: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    relay_above: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    expires_at: Option<Option<u64>>,
}

/// A field given, `null` or not (absent stays `None` through `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl Api {
    fn check_limits(
        &self,
        max: Option<u32>,
        relay_above: Option<u32>,
        expires_at: Option<u64>,
    ) -> Result<(), ApiError> {
        for (field, value) in [("max_participants", max), ("relay_above", relay_above)] {
            if value.is_some_and(|n| n == 0 || n as usize > self.capacity) {
                return Err(ApiError::invalid_field(
                    field,
                    format!(
                        "{field} is from 1 to this server's capacity, {}",
                        self.capacity
                    ),
                ));
            }
        }
        if let Some(at) = expires_at {
            if at <= unix_now() {
                return Err(ApiError::invalid_field(
                    "expires_at",
                    "expires_at (Unix seconds) is in the past",
                ));
            }
        }
        Ok(())
    }
}

#[utoipa::path(post, path = "/api/rooms", request_body = NewRoom,
    responses((status = 201, body = RoomRecord), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 409, body = ApiError)),
    security(("api_key" = [])))]
async fn create_room(
    State(state): State<ApiState>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<RoomRecord>), ApiError> {
    let new: NewRoom = body(&bytes)?;
    let name = match &new.name {
        Some(raw) => room_name("name", raw)?.as_str().to_owned(),
        None => random_room_name(),
    };
    state
        .api
        .check_limits(new.max_participants, new.relay_above, new.expires_at)?;
    let room = RoomRecord {
        name,
        privacy: new.privacy.unwrap_or(Privacy::Public),
        max_participants: new.max_participants,
        relay_above: new.relay_above,
        expires_at: new.expires_at,
        created_at: unix_now(),
    };
    match state.api.store.insert_room(&room).await {
        Ok(()) => {}
        Err(StoreError::NameTaken) => return Err(ApiError::name_taken(&room.name)),
        Err(e) => return Err(stored(e)),
    }
    state.api.directory.put(room.clone());
    Ok((StatusCode::CREATED, Json(room)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Rooms per page, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next` of the previous page.
    starting_after: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoomPage {
    data: Vec<RoomRecord>,
    /// Pass as `starting_after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[utoipa::path(get, path = "/api/rooms", params(Page),
    responses((status = 200, body = RoomPage), (status = 400, body = ApiError), (status = 401, body = ApiError)),
    security(("api_key" = [])))]
async fn list_rooms(
    State(state): State<ApiState>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RoomPage>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let limit = page.limit.unwrap_or(PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("limit is from 1 to {MAX_PAGE}"),
        ));
    }
    let mut data = state
        .api
        .store
        .rooms(page.starting_after.as_deref(), limit + 1)
        .await
        .map_err(stored)?;
    let next = if data.len() > limit as usize {
        data.truncate(limit as usize);
        data.last().map(|r| r.name.clone())
    } else {
        None
    };
    Ok(Json(RoomPage { data, next }))
}

async fn find(state: &ApiState, name: &str) -> Result<RoomRecord, ApiError> {
    let name = room_name("name", name)?;
    state
        .api
        .store
        .room(name.as_str())
        .await
        .map_err(stored)?
        .ok_or_else(|| ApiError::not_found(format!("no room called \"{name}\"")))
}

#[utoipa::path(get, path = "/api/rooms/{name}", params(("name" = String, Path)),
    responses((status = 200, body = RoomRecord), (status = 401, body = ApiError), (status = 404, body = ApiError)),
    security(("api_key" = [])))]
async fn get_room(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<RoomRecord>, ApiError> {
    find(&state, &name).await.map(Json)
}

#[utoipa::path(patch, path = "/api/rooms/{name}", params(("name" = String, Path)), request_body = RoomChanges,
    responses((status = 200, body = RoomRecord), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)),
    security(("api_key" = [])))]
async fn update_room(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<RoomRecord>, ApiError> {
    let changes: RoomChanges = body(&bytes)?;
    let name = room_name("name", &name)?;
    let mut room = find(&state, name.as_str()).await?;
    if let Some(privacy) = changes.privacy {
        room.privacy = privacy;
    }
    if let Some(max) = changes.max_participants {
        room.max_participants = max;
    }
    if let Some(n) = changes.relay_above {
        room.relay_above = n;
    }
    if let Some(at) = changes.expires_at {
        room.expires_at = at;
    }
    state.api.check_limits(
        changes.max_participants.flatten(),
        changes.relay_above.flatten(),
        changes.expires_at.flatten(),
    )?;
    if !state.api.store.update_room(&room).await.map_err(stored)? {
        return Err(ApiError::not_found(format!("no room called \"{name}\"")));
    }
    // People already in the call stay; the new terms apply to the next joins.
    state.api.directory.put(room.clone());
    state.hub.room_changed(&name, false);
    Ok(Json(room))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deleted {
    name: String,
    deleted: bool,
    /// How many people were in the call, which ended for them. With several nodes,
    /// only those on the node that answered: the call ends wherever it is.
    ended_for: usize,
}

#[utoipa::path(delete, path = "/api/rooms/{name}", params(("name" = String, Path)),
    responses((status = 200, body = Deleted), (status = 401, body = ApiError), (status = 404, body = ApiError)),
    security(("api_key" = [])))]
async fn delete_room(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let name = room_name("name", &name)?;
    if !state
        .api
        .store
        .delete_room(name.as_str())
        .await
        .map_err(stored)?
    {
        return Err(ApiError::not_found(format!("no room called \"{name}\"")));
    }
    state.api.directory.remove(name.as_str());
    let ended_for = state.hub.end_room(&name, crate::hub::room_deleted());
    state.hub.room_changed(&name, true);
    Ok(Json(Deleted {
        name: name.as_str().to_owned(),
        deleted: true,
        ended_for,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Present {
    id: u64,
    name: String,
    audio: bool,
    video: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Presence {
    room: String,
    count: usize,
    participants: Vec<Present>,
}

#[utoipa::path(get, path = "/api/rooms/{name}/presence", params(("name" = String, Path)),
    responses((status = 200, body = Presence), (status = 401, body = ApiError), (status = 404, body = ApiError)),
    security(("api_key" = [])))]
async fn presence(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Presence>, ApiError> {
    let room = room_name("name", &name)?;
    let live = state.hub.presence(&room);
    // A room the API made is there when empty; a visitor's room only while in use.
    if live.is_empty()
        && state
            .api
            .store
            .room(room.as_str())
            .await
            .map_err(stored)?
            .is_none()
    {
        return Err(ApiError::not_found(format!(
            "no room called \"{room}\" and no call in it"
        )));
    }
    let participants: Vec<Present> = live
        .into_iter()
        .map(|p| Present {
            id: p.id.get(),
            name: p.name,
            audio: p.media.audio,
            video: p.media.video,
        })
        .collect();
    Ok(Json(Presence {
        room: room.as_str().to_owned(),
        count: participants.len(),
        participants,
    }))
}

/// What `POST /api/meeting-tokens` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeetingToken {
    /// The room the token opens.
    room: String,
    /// The holder's name in the call (instead of the one typed in).
    user_name: Option<String>,
    /// Whether the holder owns the room.
    #[serde(default)]
    is_owner: bool,
    /// Unix seconds from which the token opens nothing; absent: in 24 hours.
    expires_at: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingToken {
    /// Give it to the page as the meeting link's `?t=`.
    token: String,
    room: String,
    expires_at: u64,
}

#[utoipa::path(post, path = "/api/meeting-tokens", request_body = NewMeetingToken,
    responses((status = 201, body = MeetingToken), (status = 400, body = ApiError), (status = 401, body = ApiError)),
    security(("api_key" = [])))]
async fn create_meeting_token(
    State(state): State<ApiState>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<MeetingToken>), ApiError> {
    let new: NewMeetingToken = body(&bytes)?;
    let room = room_name("room", &new.room)?;
    if let Some(name) = &new.user_name {
        DisplayName::parse(name).map_err(|e| ApiError::invalid_field("user_name", e.message))?;
    }
    let now = unix_now();
    let exp = new.expires_at.unwrap_or(now + TOKEN_LIFETIME_SECS);
    if exp <= now {
        return Err(ApiError::invalid_field(
            "expires_at",
            "expires_at (Unix seconds) is in the past",
        ));
    }
    let token = state.api.directory.tokens().issue(&MeetingClaims {
        room: room.as_str().to_owned(),
        user_name: new.user_name.map(|n| n.trim().to_owned()),
        is_owner: new.is_owner,
        exp,
    });
    Ok((
        StatusCode::CREATED,
        Json(MeetingToken {
            token,
            room: room.as_str().to_owned(),
            expires_at: exp,
        }),
    ))
}

/// A room name nobody guesses: 12 letters and digits.
fn random_room_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Nonstop rooms API", description = "Rooms, meeting tokens and presence. Every endpoint but this document takes `Authorization: Bearer KEY`."),
    paths(create_room, list_rooms, get_room, update_room, delete_room, presence, create_meeting_token),
    modifiers(&BearerKey)
)]
struct ApiDoc;

struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The OpenAPI document, for `docs/` and tests.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}
