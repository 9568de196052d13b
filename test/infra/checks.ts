// The deployment's promises as functions that list violations, so the tests can show both that the real
// Terraform has none and that each check catches a broken copy.
import { allStrings, child, resourcesOf, type Block, type TfModule } from './hcl.js';

export const BROAD_ROLE = /^roles\/(owner|editor|viewer|[a-z]+\.admin|iam\.|resourcemanager\.|storage\.(admin|objectAdmin)|pubsub\.(admin|editor)|secretmanager\.admin|cloudsql\.admin|compute\.admin)/;
export const UNDELIVERED_METRIC = 'pubsub.googleapis.com/subscription/num_undelivered_messages';

/** Subscriptions without a dead-letter policy, other than the dead-letter queues themselves. */
export function subscriptionsWithoutDeadLetter(tf: TfModule): string[] {
  return resourcesOf(tf, 'google_pubsub_subscription')
    .filter(([, sub]) => !/google_pubsub_topic\.dead_letter\[/.test(String(sub.topic)))
    .filter(([, sub]) => {
      const dlq = (sub.dead_letter_policy as Block[] | undefined)?.[0];
      return !dlq?.dead_letter_topic || dlq.max_delivery_attempts === undefined;
    })
    .map(([name]) => name);
}

/** Cloud SQL instances that are not MySQL 8 on a private IP only. */
export function publicOrWrongSql(tf: TfModule): string[] {
  return resourcesOf(tf, 'google_sql_database_instance')
    .filter(([, sql]) => {
      const ip = child(child(sql, 'settings'), 'ip_configuration');
      return !/^MYSQL_8_/.test(String(sql.database_version)) || ip.ipv4_enabled !== false || !ip.private_network || ip.authorized_networks !== undefined;
    })
    .map(([name]) => name);
}

/** Every role string that is owner, editor, viewer or an admin-like role. */
export function broadRoles(tf: TfModule): string[] {
  return allStrings(tf.raw).filter((s) => BROAD_ROLE.test(s));
}

/** Autoscalers that do not scale on the backlog of a worker subscription. */
export function autoscalersOffBacklog(tf: TfModule): string[] {
  const scalers = [...resourcesOf(tf, 'google_compute_region_autoscaler'), ...resourcesOf(tf, 'google_compute_autoscaler')];
  return scalers
    .filter(([, a]) => {
      const metric = ((child(a, 'autoscaling_policy').metric as Block[] | undefined) ?? [])[0];
      return metric?.name !== UNDELIVERED_METRIC || !String(metric.filter).includes('google_pubsub_subscription.work[each.key].name') || metric.single_instance_assignment === undefined;
    })
    .map(([name]) => name);
}

/** Variables without a description. */
export function undocumentedVariables(tf: TfModule): string[] {
  return Object.entries(tf.variables)
    .filter(([, v]) => typeof v.description !== 'string' || v.description.trim().length < 15)
    .map(([name]) => name);
}
