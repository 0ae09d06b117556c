from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    def ready(self):
        # Promotion gates (workloads) read document readiness from here; workloads does not
        # import contracts, which builds on it.
        from workloads.gates import register_readiness_source, register_slo_source

        from .selectors import document_readiness
        from .slo_selectors import staging_slo_evidence

        register_readiness_source(document_readiness)
        register_slo_source(staging_slo_evidence)
