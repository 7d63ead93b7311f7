# The emulator clock now belongs to the base layer (config/models.py); its table
# stays, under the same name, and only leaves this app's state.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0004_attempt_status_index"),
        ("config", "0001_emulatorclock"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="EmulatorClock")],
            database_operations=[],
        )
    ]
