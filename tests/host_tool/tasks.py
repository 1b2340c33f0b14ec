from celery import shared_task

from journey.core import jobs


@shared_task(name="tests.host_points_award", ignore_result=True)
def host_points_award():
    return jobs.run_job("host_points_award", via="celery").state
