from journey.core.jobs import Job

JOBS = (
    Job(key="host_points_award", func="tests.host_tool.jobs.award", interval=3600,
        description="Awards the host's points.", task="tests.host_points_award"),
)


def award(via="tick"):
    return "no points today"
