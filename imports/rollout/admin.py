"""The rollout's admin page: import metrics per importer, hung on the import jobs' admin.

``/admin/imports/importjob/metrics/`` (URL name ``admin:imports_importjob_metrics``),
linked from the admin index and the job list while this app is installed.
"""

from imports.admin import ImportJobAdmin
from imports.rollout.admin_views import ImportMetricsView

ImportJobAdmin.extra_pages.append(("metrics/", ImportMetricsView, "imports_importjob_metrics"))
