# Per worker mode: the work topic the publishers fill, the subscription the MIG pulls (and scales on),
# a dead-letter topic for messages that failed max_delivery_attempts times, and the error topic the
# workers report per-object failures to. Dead-letter and error topics each get a "hold" subscription:
# a topic without a subscription drops what is published to it.
#
# Retention: a subscription keeps an unacked message at most 7 days (Pub/Sub's limit, the default of
# message_retention_duration), so a backlog the fleet cannot drain within a week would be dropped. Three
# guards: the oldest-unacked alert fires at 2 days (monitoring.tf), the topics keep every message for 31
# days (topic_retention_duration) so a dropped one can be replayed with a seek, and the runbook ramps
# the fleet to drain the backlog in days, not weeks (infra/README.md, "Staged ramp").

resource "google_pubsub_topic" "work" {
  for_each                   = local.modes
  name                       = local.name[each.key].topic
  labels                     = var.labels
  message_retention_duration = var.topic_retention_duration
  depends_on                 = [google_project_service.api]
}

resource "google_pubsub_topic" "dead_letter" {
  for_each                   = local.modes
  name                       = local.name[each.key].dead_letter_topic
  labels                     = var.labels
  message_retention_duration = var.topic_retention_duration
  depends_on                 = [google_project_service.api]
}

resource "google_pubsub_topic" "errors" {
  for_each                   = local.modes
  name                       = local.name[each.key].error_topic
  labels                     = var.labels
  message_retention_duration = var.topic_retention_duration
  depends_on                 = [google_project_service.api]
}

resource "google_pubsub_subscription" "work" {
  for_each = local.modes
  name     = local.name[each.key].subscription
  topic    = google_pubsub_topic.work[each.key].id
  labels   = var.labels

  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.message_retention_duration
  retain_acked_messages      = false

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # A migration can sit idle for weeks between phases: never let the subscription expire.
  expiration_policy {
    ttl = ""
  }
}

# Errors are read by an operator (or a later tool), not by the workers. A message that cannot be
# handled after max_delivery_attempts still goes to the mode's dead-letter topic.
resource "google_pubsub_subscription" "errors_hold" {
  for_each                   = local.modes
  name                       = local.name[each.key].error_hold
  topic                      = google_pubsub_topic.errors[each.key].id
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention_duration

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# The end of the line: keeps dead letters for inspection and replay (infra/README.md, "Dead letters").
# It has no dead-letter policy of its own on purpose: it is the dead-letter queue.
resource "google_pubsub_subscription" "dead_letter_hold" {
  for_each                   = local.modes
  name                       = local.name[each.key].dead_letter_hold
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  labels                     = merge(var.labels, { role = "dead-letter-queue" })
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention_duration

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topic and
# acknowledge on the source subscription. The agent exists only once Google creates it (lazily, on first
# use of the API): google_project_service_identity creates it before it is granted anything.
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.api]
}

locals {
  pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.modes
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_work" {
  for_each     = local.modes
  subscription = google_pubsub_subscription.work[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_errors" {
  for_each     = local.modes
  subscription = google_pubsub_subscription.errors_hold[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
