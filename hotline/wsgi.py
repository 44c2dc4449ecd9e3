import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
application = get_wsgi_application()

# Load jieba's dictionary and the active routing model now, so no request pays for them
# (with gunicorn --preload they are loaded once and shared by the forked workers).
from routing.startup import warm_up  # noqa: E402

warm_up()
