# The emulator clock moved from the scheduler app to the base layer (config):
# the table stays as it is, only Django's state changes hands. The scheduler's
# 0005 drops the model from its own state after this.
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("scheduler", "0004_attempt_status_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmulatorClock",
                    fields=[
                        (
                            "id",
                            models.PositiveSmallIntegerField(
                                default=1, primary_key=True, serialize=False
                            ),
                        ),
                        ("offset_seconds", models.FloatField(default=0.0)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "verbose_name": "emulator clock",
                        "db_table": "scheduler_emulatorclock",
                    },
                )
            ],
            database_operations=[],
        )
    ]
