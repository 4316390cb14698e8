from sqlalchemy import select

from aap.models import User


def test_users_create_with_several_roles(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Chargee@Example.org", "--password",
                                 "Longue-phrase-42", "--role", "instructor", "--role",
                                 "finance", "--name", "Chargée de mission"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "chargee@example.org"))
    assert user.roles == ["finance", "instructor"]
    assert user.check_password("Longue-phrase-42")


def test_users_create_refuses_a_weak_password_and_a_duplicate(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "a@example.org", "--password", "court",
                               "--role", "applicant"])
    assert weak.exit_code == 1
    assert "password" in weak.output
    ok = runner.invoke(args=["users", "create", "b@example.org", "--password",
                             "Longue-phrase-42", "--role", "applicant"])
    assert ok.exit_code == 0
    again = runner.invoke(args=["users", "create", "B@example.org", "--password",
                                "Longue-phrase-42", "--role", "applicant"])
    assert again.exit_code == 1
    assert "existe déjà" in again.output


def test_workflow_diagram_prints_mermaid(app):
    result = app.test_cli_runner().invoke(args=["workflow", "diagram"])
    assert result.exit_code == 0
    assert "stateDiagram-v2" in result.output
