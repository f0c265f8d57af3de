#!/usr/bin/env bash
# The nightly degradation report, for cron or any scheduler:
#
#   run the plan -> write the run's HTML report -> chart the trend and flag drops
#   -> post a Slack-compatible alert when something degraded.
#
# Usage: nightly.sh [PLAN]   (from anywhere inside the workspace)
# Environment:
#   EVALKIT_WEBHOOK_URL  incoming-webhook URL (Slack, Mattermost, ...); a secret, so it
#                        is read from the environment and never put on a command line
#   EVALKIT              the evalkit command (default: evalkit)
#   REPORT_URL           where the pages are published (e.g. the CI run), for the alert
# Exit: 0 no degradation, 1 a degradation was found (and posted), 2+ evalkit's own codes.
set -uo pipefail

plan="${1:-}"
evalkit=(${EVALKIT:-evalkit})

# A failing case is expected on a nightly run: the trend decides what is news, so the
# run's own exit 1 (failures or a failed gate) does not stop the job. Anything worse does.
"${evalkit[@]}" run ${plan:+"$plan"} --label trigger=nightly
status=$?
if [ "$status" -gt 1 ]; then
  echo "nightly: evalkit run failed with exit code $status" >&2
  exit "$status"
fi

"${evalkit[@]}" report latest || exit $?

# Exit 1 here means a drop was flagged; with EVALKIT_WEBHOOK_URL set it was also posted.
"${evalkit[@]}" trend ${plan:+"$plan"} ${REPORT_URL:+--report-url "$REPORT_URL"}
