/*
 * gql.h - GraphQL requests to wandb: marshalling and error bodies.
 *
 * Every request is `POST {base_url}/graphql` with the JSON body
 * {"query": TEXT, "variables": {...}} (a variables object is always sent,
 * `{}` at minimum) and HTTP basic auth `api:KEY`, through the retrying
 * client of http.h. Error answers become one clear line:
 *   - a GraphQL `errors` list (with HTTP 200, 400 or 500), or `{"error": m}`:
 *     "wandb: MESSAGE[; MESSAGE2] (in upsertSweep)";
 *   - HTTP 401: says the key was rejected and how to set it;
 *   - anything else: the HTTP status and URL, plus any message in the body.
 * The wandb operations themselves are in wandb_api.h.
 *
 * The server and key come from sw_http_set_server().
 *
 * defines: sw_gql_request, sw_gql_body, sw_gql_call
 */
#ifndef SW_GQL_H
#define SW_GQL_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "sweep/http/http.h"

/* Sends query with vars_json (a JSON object as text; NULL means {}). On
 * success (HTTP 2xx and no `errors`) out holds the whole response body
 * (out must be initialised; it is reset first) and 0 is returned.
 * Otherwise -1 (SW_ERR_INTR when interrupted) with err set, the API key
 * scrubbed from it; http->last_status tells the HTTP status (0 when no
 * answer came), e.g. 404 for an agent heartbeat on a deleted sweep. */
int sw_gql_request(struct sw_http *http, const char *query, const char *vars_json,
		   struct sw_buf *out, struct sw_err *err);

/* The request body {"query": query, "variables": vars} as compact JSON;
 * borrows vars. Returns a new string the caller frees (NULL: OOM). */
char *sw_gql_body(const char *query, json_t *vars);

/* The same with jansson values: borrows vars (NULL: {}); on success
 * *data is a new reference to the response's "data" object that the caller
 * decrefs. */
int sw_gql_call(struct sw_http *http, const char *query, json_t *vars,
		json_t **data, struct sw_err *err);

#endif
