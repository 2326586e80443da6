//! LiteLLM's key and provider names: what loads with a warning and what is a typo.

/// Top-level sections LiteLLM reads besides the four we model.
pub const TOP_LEVEL: &[&str] = &[
    "include", "callback_settings", "guardrails", "credential_list", "files_settings",
    "finetune_settings", "assistant_settings", "mcp_servers", "mcp_aliases", "vector_store_registry",
    "search_tools", "prompts", "pass_through_endpoints", "model_group_settings",
];

pub const LITELLM_SETTINGS: &[&str] = &[
    "cache", "cache_params", "callbacks", "success_callback", "failure_callback", "input_callback",
    "service_callback", "guardrails", "model_group_settings", "post_call_rules", "pre_call_rules",
    "max_internal_user_budget", "default_max_internal_user_budget", "custom_provider_map",
    "default_team_settings", "upperbound_key_generate_params", "default_key_generate_params",
    "key_generation_settings", "default_internal_user_params", "default_team_params", "max_budget",
    "budget_duration", "default_soft_budget", "max_end_user_budget", "max_user_budget",
    "internal_user_budget_duration", "tag_budget_config", "max_ui_session_budget",
    "disable_end_user_cost_tracking", "disable_end_user_cost_tracking_prometheus_only",
    "enable_end_user_cost_tracking_prometheus_only", "custom_prometheus_metadata_labels",
    "custom_prometheus_tags", "prometheus_metrics_config", "prometheus_initialize_budget_metrics",
    "turn_off_message_logging", "log_raw_request_response", "redact_messages_in_exceptions",
    "redact_user_api_key_info", "filter_invalid_headers", "add_user_information_to_llm_headers",
    "store_audit_logs", "audit_log_callbacks", "telemetry", "max_tokens", "modify_params", "retry",
    "vertex_project", "vertex_location", "ssl_verify", "ssl_security_level", "ssl_certificate",
    "disable_streaming_logging", "disable_token_counter", "extra_spend_tag_headers",
    "enable_preview_features", "return_response_headers", "enable_json_schema_validation",
    "enable_loadbalancing_on_batch_endpoints", "enable_caching_on_provider_specific_optional_params",
    "caching", "default_in_memory_ttl", "default_redis_ttl", "model_alias_map",
    "model_group_alias_map", "forward_traceparent_to_llm_provider", "model_fallbacks",
    "model_cost_map_url", "suppress_debug_info", "s3_callback_params", "aws_sqs_callback_params",
    "generic_logger_headers", "public_model_groups", "public_model_groups_links",
    "priority_reservation", "priority_reservation_settings", "use_aiohttp_transport",
    "disable_aiohttp_transport", "force_ipv4", "max_fallbacks", "default_fallbacks", "fallbacks",
    "context_window_fallbacks", "content_policy_fallbacks", "allowed_fails",
    "num_retries_per_request", "api_base", "headers", "api_version", "organization", "project",
    "timezone", "langfuse_default_tags", "json_logs", "responses", "key_alias_pattern",
    "budget_reset_time", "suppress_startup_output", "global_disable_no_log_param",
    "safe_memory_mode", "enable_azure_ad_token_refresh", "drop_params", "additional_drop_params",
];

pub const ROUTER_SETTINGS: &[&str] = &[
    "assistants_config", "redis_db", "cache_responses", "cache_kwargs", "caching_groups",
    "client_ttl", "polling_interval", "default_priority", "max_fallbacks", "default_litellm_params",
    "default_max_parallel_requests", "set_verbose", "debug_level", "default_fallbacks", "fallbacks",
    "context_window_fallbacks", "content_policy_fallbacks", "model_group_alias",
    "enable_pre_call_checks", "enable_tag_filtering", "retry_after", "retry_policy",
    "model_group_retry_policy", "allowed_fails", "allowed_fails_policy", "cooldown_time",
    "disable_cooldowns", "optional_pre_call_checks", "routing_strategy_args",
    "provider_budget_config", "alerting_config", "router_general_settings",
    "ignore_invalid_deployments", "search_tools", "guardrail_list", "tag_filtering_match_any",
    "tag_routing_prefix", "plugins", "fallback_on_unsupported_params", "routing_groups",
    "deployment_affinity_ttl_seconds", "model_group_affinity_config", "enable_health_check_routing",
    "health_check_staleness_threshold", "health_check_ignore_transient_errors",
    "background_health_check_model_groups", "enable_weighted_failover",
    "enable_mid_stream_fallback_continuation", "fallback_access_check", "fallback_budget_check",
];

pub const GENERAL_SETTINGS: &[&str] = &[
    "completion_model", "key_management_system", "key_management_settings", "use_google_kms",
    "use_azure_key_vault", "database_connection_pool_limit", "database_connection_timeout",
    "database_connection_pool_timeout", "database_type", "database_args", "otel", "custom_auth",
    "max_parallel_requests", "global_max_parallel_requests", "max_response_size_mb",
    "infer_model_from_keys", "background_health_checks", "health_check_interval",
    "health_check_details", "alerting", "alert_types", "alert_to_webhook_url", "alerting_args",
    "alerting_threshold", "ui_access_mode", "allowed_routes", "admin_only_routes", "public_routes",
    "enable_public_model_hub", "pass_through_endpoints", "allow_client_side_credentials",
    "allow_requests_on_db_unavailable", "allow_user_auth", "allowed_ips", "custom_key_generate",
    "custom_sso", "default_team_disabled", "disable_adding_master_key_hash_to_db",
    "disable_error_logs", "disable_master_key_return", "disable_prisma_schema_update",
    "disable_reset_budget", "disable_retry_on_max_parallel_request_limit_error",
    "disable_spend_logs", "disable_spend_updates", "embedding_model", "enable_jwt_auth",
    "enable_oauth2_auth", "enable_oauth2_proxy_auth", "enforce_rbac", "enforce_user_param",
    "enforced_params", "forward_client_headers_to_llm_api", "forward_openai_org_id",
    "image_generation_model", "litellm_jwtauth", "litellm_key_header_name", "litellm_license",
    "maximum_spend_logs_retention_interval", "maximum_spend_logs_retention_period",
    "moderation_model", "proxy_admin_email", "proxy_batch_write_at", "proxy_budget_rescheduler_max_time",
    "proxy_budget_rescheduler_min_time", "role_permissions", "service_account_settings",
    "spend_report_frequency", "store_model_in_db", "store_prompts_in_spend_logs",
    "token_rate_limit_type", "use_redis_transaction_buffer", "use_x_forwarded_for",
    "user_api_key_cache_ttl", "user_header_name", "include_call_id_in_error_body",
    "max_in_flight_requests_per_worker", "cancel_on_disconnect", "always_include_stream_usage",
    "allow_public_health_readiness_details", "model_list_healthy_only",
];

/// `litellm_params` keys LiteLLM knows that we do not act on yet.
pub const LITELLM_PARAMS: &[&str] = &[
    "custom_llm_provider", "configurable_clientside_auth_params", "litellm_credential_name",
    "max_file_size_mb", "max_budget", "budget_duration", "use_in_pass_through", "use_litellm_proxy",
    "merge_reasoning_content_in_choices", "vertex_project", "vertex_location", "vertex_credentials",
    "region_name", "aws_access_key_id", "aws_secret_access_key", "aws_region_name",
    "aws_session_token", "aws_profile_name", "aws_role_name", "watsonx_region_name",
    "input_cost_per_token", "output_cost_per_token", "input_cost_per_second",
    "output_cost_per_second", "cache_read_input_token_cost", "cache_creation_input_token_cost",
    "drop_params", "additional_drop_params", "tags", "azure_ad_token", "tenant_id", "client_id",
    "client_secret", "azure_scope", "headers", "mock_delay", "model_info", "rpd", "tpd",
    "responses_api_version", "litellm_trace_id", "auto_router_config",
];

/// OpenAI request parameters a deployment may set as defaults (sent when the client omits them).
pub const DEFAULT_PARAMS: &[&str] = &[
    "temperature", "top_p", "n", "stop", "max_tokens", "max_completion_tokens", "presence_penalty",
    "frequency_penalty", "logit_bias", "user", "seed", "response_format", "tools", "tool_choice",
    "parallel_tool_calls", "logprobs", "top_logprobs", "reasoning_effort", "service_tier",
    "top_k", "min_p", "repetition_penalty", "dimensions", "encoding_format", "extra_body",
];

/// Every provider prefix LiteLLM understands (for "did you mean" and "not yet" messages).
pub const PROVIDERS: &[&str] = &[
    "openai", "azure", "azure_ai", "azure_text", "text-completion-openai", "custom_openai",
    "openai_like", "hosted_vllm", "litellm_proxy", "anthropic", "anthropic_text", "bedrock",
    "sagemaker", "sagemaker_chat", "vertex_ai", "vertex_ai_beta", "gemini", "mistral", "codestral",
    "text-completion-codestral", "groq", "deepseek", "openrouter", "together_ai", "xai",
    "fireworks_ai", "perplexity", "cerebras", "deepinfra", "nvidia_nim", "ollama", "ollama_chat",
    "vllm", "lm_studio", "cohere", "cohere_chat", "huggingface", "replicate", "databricks",
    "watsonx", "watsonx_text", "ai21", "ai21_chat", "nlp_cloud", "anyscale", "cloudflare",
    "voyage", "jina_ai", "github", "sambanova", "friendliai", "predibase", "triton", "nscale",
    "hyperbolic", "novita", "featherless_ai", "llamafile", "infinity", "dashscope", "moonshot",
    "volcengine", "clarifai", "baseten", "petals", "aleph_alpha", "palm", "maritalk",
    "empower", "galadriel", "lambda_ai", "nebius", "snowflake", "topaz", "dataforseo", "oci",
];
