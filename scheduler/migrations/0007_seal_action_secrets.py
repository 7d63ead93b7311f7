# Scheduler actions' credentials are stored sealed (scheduler/secrets.py):
# seal what earlier versions stored in the clear. Going back leaves them sealed
# (an older version would send the sealed form: move forward, or PUT again).
from django.db import migrations


def seal(apps, schema_editor):
    from scheduler.secrets import action_seal

    Job = apps.get_model("scheduler", "Job")
    for job in Job.objects.all().only("pk", "action"):
        sealed = action_seal(job.action or {})
        if sealed != job.action:
            Job.objects.filter(pk=job.pk).update(action=sealed)


class Migration(migrations.Migration):
    dependencies = [("scheduler", "0006_permissions")]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
