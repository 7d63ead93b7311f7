# The launcher's gate for a bash job (jobs/launcher.py, BASH_ENV): bash runs this
# file before the job's script, so the job's own process, interpreter loaded, waits
# here for its run id, written at the due instant; end of file: the fire does not
# run, and neither does the script. Then the script runs exactly as `bash run.sh`
# would run it ($0, BASH_SOURCE, error messages), and nothing of this is left in
# its environment: a bash the script starts does not come back here.
IFS= read -r WEBJOBS_RUN_ID || exit 0
exec </dev/null
export WEBJOBS_RUN_ID
unset BASH_ENV
